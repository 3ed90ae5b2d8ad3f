import { createHash } from 'node:crypto';
import { bytesEqual } from '../util/bytes.js';
/**
 * The narrow storage interface the swarm talks to (STYLE.md: storage behind read/write block, verify,
 * completion). Pieces are the unit of trust: a piece counts as ours only after its bytes hash to the
 * value in the info dictionary (BEP 3), and that is the only way `have()` becomes true.
 */
import type { InfoDictionary } from '../codec/metainfo.js';
import { DhtNodeError } from '../util/errors.js';

/** What storage needs from a torrent: its piece geometry, hashes and files (an InfoDictionary fits). */
export type StorageLayout = Pick<InfoDictionary, 'pieceLength' | 'pieceCount' | 'pieces' | 'totalLength' | 'files'>;

/**
 * A storage failure. Codes: storage_disk_full, storage_read_only, storage_unreadable, storage_missing,
 * storage_not_a_file, storage_io, storage_out_of_range, storage_closed, storage_path_escape.
 */
export class StorageError extends DhtNodeError {}

/** Progress of a resume check: pieces looked at so far, of `total`. */
export interface CheckProgress {
  checked: number;
  total: number;
  verified: number;
}

export interface CheckOptions {
  signal?: AbortSignal;
  onProgress?: (progress: CheckProgress) => void;
}

/** Counters (STYLE.md 14). */
export interface StorageStats {
  bytesWritten: number;
  bytesRead: number;
  piecesVerified: number;
  piecesFailed: number;
  /** Blocks written to a piece already verified (endgame duplicates); dropped, never written. */
  writesIgnored: number;
  /** Pieces the resume check skipped without reading because a file was missing or short. */
  piecesSkippedFast: number;
}

export interface PieceStorage {
  readonly pieceCount: number;
  /**
   * Reads `length` bytes at `offset` in `piece`. The caller serves only pieces it `have()`s. With `into`
   * (at least `length` bytes), the bytes are read into its start and that view is returned: a caller that
   * reuses its buffers (the read cache) spares the allocation.
   */
  readBlock(piece: number, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Writes a block. `data` is not retained after the promise settles. Writes to verified pieces are ignored. */
  writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void>;
  /**
   * Hashes the piece as stored and compares it with the info dictionary. True marks it complete; false
   * means the data is wrong (or absent) and the caller should blame whoever sent its blocks.
   */
  verifyPiece(piece: number): Promise<boolean>;
  /**
   * Stores a whole piece whose bytes the caller holds in memory: hashes `data` once, and only when it
   * matches the info dictionary writes it (one positional write per file it spans) and marks it complete.
   * A piece that fails is never written, so bad data never reaches the disk. True when complete. This is
   * the download hot path: no per-block writes, no read-back to verify. A caller that has already hashed
   * exactly these bytes (as blocks arrived) passes the SHA-1 as `digest`, and it is checked instead.
   */
  commitPiece(piece: number, data: Uint8Array, digest?: Uint8Array): Promise<boolean>;
  have(piece: number): boolean;
  /** Count of verified pieces. */
  completedCount(): number;
  /** A BEP 3 bitfield of verified pieces (high bit of byte 0 is piece 0); a copy. */
  bitfield(): Uint8Array;
  /** Verifies whatever is already stored and returns the pieces that pass; the source of truth on start. */
  checkExisting(options?: CheckOptions): Promise<Set<number>>;
  stats(): StorageStats;
  close(): Promise<void>;
}

/** Completion bookkeeping shared by the backends: a bitfield and its population count. */
export class Completion {
  private readonly bits: Uint8Array;
  private count = 0;

  constructor(readonly pieceCount: number) {
    this.bits = new Uint8Array(Math.ceil(pieceCount / 8));
  }

  /** Whether `piece` is complete; false for anything that is not a piece index (callers pass peers' numbers). */
  has(piece: number): boolean {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) return false;
    return ((this.bits[piece >> 3] as number) & (0x80 >> (piece & 7))) !== 0;
  }

  set(piece: number, value: boolean): void {
    if (this.has(piece) === value) return;
    const i = piece >> 3;
    this.bits[i] = (this.bits[i] as number) ^ (0x80 >> (piece & 7));
    this.count += value ? 1 : -1;
  }

  get size(): number {
    return this.count;
  }

  copy(): Uint8Array {
    return this.bits.slice();
  }
}

export function emptyStats(): StorageStats {
  return { bytesWritten: 0, bytesRead: 0, piecesVerified: 0, piecesFailed: 0, writesIgnored: 0, piecesSkippedFast: 0 };
}

/** Size of `piece` in `layout` (the last piece holds the remainder). */
export function sizeOfPiece(layout: StorageLayout, piece: number): number {
  return piece < layout.pieceCount - 1 ? layout.pieceLength : layout.totalLength - layout.pieceLength * (layout.pieceCount - 1);
}

/** Throws storage_out_of_range unless the block lies inside the piece. */
/** True when `data` is exactly piece `piece` and hashes (or, given `digest`, hashed) to its SHA-1 in the info dictionary. */
export function pieceMatches(layout: StorageLayout, piece: number, data: Uint8Array, digest?: Uint8Array): boolean {
  if (data.length !== sizeOfPiece(layout, piece)) return false;
  return bytesEqual(digest ?? createHash('sha1').update(data).digest(), layout.pieces.subarray(piece * 20, piece * 20 + 20));
}

/** commitPiece's argument check: the whole piece, no more, no less. */
export function checkWholePiece(layout: StorageLayout, piece: number, data: Uint8Array): void {
  checkBlock(layout, piece, 0, data.length);
  const size = sizeOfPiece(layout, piece);
  if (data.length !== size) throw new StorageError('storage_bad_block', `piece ${piece} is ${size} bytes, got ${data.length}`);
}

export function checkBlock(layout: StorageLayout, piece: number, offset: number, length: number): void {
  if (!Number.isInteger(piece) || piece < 0 || piece >= layout.pieceCount) {
    throw new StorageError('storage_out_of_range', `piece ${piece} out of range 0..${layout.pieceCount - 1}`);
  }
  const size = sizeOfPiece(layout, piece);
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new StorageError('storage_out_of_range', `block ${offset}+${length} outside piece ${piece} of ${size} bytes`);
  }
}

/** Turns a Node fs error into a StorageError with a stable code; `writing` picks read-only vs unreadable. */
export function mapFsError(err: unknown, path: string, writing: boolean): StorageError {
  if (err instanceof StorageError) return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError('storage_disk_full', `no space left writing ${path}`, { cause: err });
    case 'EROFS':
      return new StorageError('storage_read_only', `${path} is on a read-only file system`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return writing
        ? new StorageError('storage_read_only', `no permission to write ${path}`, { cause: err })
        : new StorageError('storage_unreadable', `no permission to read ${path}`, { cause: err });
    case 'ENOENT':
    case 'ENOTDIR':
      return new StorageError('storage_missing', `${path} does not exist`, { cause: err });
    case 'EISDIR':
      return new StorageError('storage_not_a_file', `${path} is a folder, not a file`, { cause: err });
    default:
      return new StorageError('storage_io', `I/O error on ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
