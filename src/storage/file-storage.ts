/**
 * The file backend: a torrent's content laid out as its files under a root folder (BEP 3: single-file
 * torrents are one file named `name`, multi-file ones a folder `name/` holding `path` lists), accessed with
 * positional reads and writes on cached handles. Files are created on first write and grow sparsely; no
 * space is preallocated and nothing is ever truncated.
 *
 * Crash safety (docs/storage.md): no completion list is persisted. A piece is complete only when its bytes,
 * read back from disk, hash correctly, in verifyPiece() or in checkExisting() on start; so a crash between a
 * write and a flush can cost a re-download, never a lie about what is on disk.
 */
import { createHash } from 'node:crypto';
import { stat, type FileHandle } from 'node:fs/promises';
import { PathError, resolveInside, sanitizePath } from '../codec/paths.js';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { bytesEqual } from '../util/bytes.js';
import { DEFAULT_MAX_OPEN_FILES, FileHandleCache } from './handle-cache.js';
import { emptyFilesInPiece, spansForBlock, type FileSpan } from './piece-map.js';
import {
  checkBlock,
  checkWholePiece,
  Completion,
  emptyStats,
  mapFsError,
  sizeOfPiece,
  pieceMatches,
  StorageError,
  type CheckOptions,
  type PieceStorage,
  type StorageLayout,
  type StorageStats,
} from './piece-storage.js';

/** Read size when hashing: large enough for sequential throughput, small enough not to matter in memory. */
export const HASH_CHUNK = 1024 * 1024;

export interface FileStorageDeps {
  log?: Logger;
}

export interface FileStorageOptions {
  /** The folder the torrent's files live in (CLI `--out`). */
  root: string;
  layout: StorageLayout;
  /** Seeding from data we must not touch: writes fail with storage_read_only and nothing is created. */
  readOnly?: boolean;
  /** Bound on cached open files (default DEFAULT_MAX_OPEN_FILES). */
  maxOpenFiles?: number;
}

export class FileStorage implements PieceStorage {
  readonly pieceCount: number;
  private readonly layout: StorageLayout;
  private readonly paths: string[];
  /** BEP 47 padding files: zeros that are never stored. */
  private readonly padding: boolean[];
  private readonly handles: FileHandleCache;
  private readonly completion: Completion;
  private readonly counters: StorageStats = emptyStats();
  private readonly readOnly: boolean;
  private readonly log: Logger;
  private closed = false;

  /** Throws StorageError `storage_path_escape` if any file path would leave `root`. */
  constructor(deps: FileStorageDeps, options: FileStorageOptions) {
    this.log = deps.log ?? silentLogger;
    this.layout = options.layout;
    this.pieceCount = options.layout.pieceCount;
    this.readOnly = options.readOnly ?? false;
    this.handles = new FileHandleCache(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
    this.completion = new Completion(this.pieceCount);
    this.padding = options.layout.files.map((f) => f.padding === true);
    try {
      // Paths from a parsed torrent are already sanitized; checking again costs little and keeps this class
      // safe for layouts from anywhere.
      this.paths = options.layout.files.map((f) => resolveInside(options.root, sanitizePath(f.path)));
    } catch (err) {
      if (err instanceof PathError) throw new StorageError('storage_path_escape', err.message, { cause: err });
      throw err;
    }
  }

  async readBlock(piece: number, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    this.assertOpen();
    checkBlock(this.layout, piece, offset, length);
    if (into !== undefined && into.length < length) throw new RangeError(`a ${into.length}-byte buffer for ${length} bytes`);
    const out = into?.subarray(0, length) ?? Buffer.allocUnsafe(length);
    for (const span of spansForBlock(this.layout, piece, offset, length)) {
      const ok = await this.readSpan(span, out);
      if (!ok) throw new StorageError('storage_missing', `${this.paths[span.file]} is shorter than the torrent says`);
    }
    this.counters.bytesRead += length;
    return out;
  }

  async writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void> {
    this.assertOpen();
    checkBlock(this.layout, piece, offset, data.length);
    if (this.readOnly) throw new StorageError('storage_read_only', 'storage was opened read-only');
    if (this.completion.has(piece)) {
      this.counters.writesIgnored++;
      return;
    }
    for (const span of spansForBlock(this.layout, piece, offset, data.length)) {
      // Padding bytes are zeros by definition (BEP 47); reads supply them, so what a peer sent is dropped.
      if (this.padding[span.file]) continue;
      const path = this.paths[span.file] as string;
      try {
        await this.handles.use(path, 'write', async (fh) => {
          let done = 0;
          while (done < span.length) {
            // Positional write straight from the caller's buffer: no copy on the hot path.
            const { bytesWritten } = await fh.write(data, span.bufferOffset + done, span.length - done, span.fileOffset + done);
            done += bytesWritten;
          }
        });
      } catch (err) {
        throw mapFsError(err, path, true);
      }
    }
    this.counters.bytesWritten += data.length;
  }

  async commitPiece(piece: number, data: Uint8Array, digest?: Uint8Array): Promise<boolean> {
    this.assertOpen();
    checkWholePiece(this.layout, piece, data);
    if (this.completion.has(piece)) return true;
    if (!pieceMatches(this.layout, piece, data, digest)) {
      this.completion.set(piece, false);
      this.counters.piecesFailed++;
      return false;
    }
    await this.writeBlock(piece, 0, data);
    await this.markComplete(piece);
    return true;
  }

  async verifyPiece(piece: number): Promise<boolean> {
    this.assertOpen();
    checkBlock(this.layout, piece, 0, 0);
    const size = sizeOfPiece(this.layout, piece);
    const ok = await this.hashMatches(piece, Buffer.allocUnsafe(Math.min(size, HASH_CHUNK)));
    if (ok) await this.markComplete(piece);
    else {
      this.completion.set(piece, false);
      this.counters.piecesFailed++;
    }
    return ok;
  }

  have(piece: number): boolean {
    return this.completion.has(piece);
  }

  completedCount(): number {
    return this.completion.size;
  }

  bitfield(): Uint8Array {
    return this.completion.copy();
  }

  /**
   * Verifies the files already under root, streaming them through SHA-1 in HASH_CHUNK reads. Fast path: a
   * piece that touches a missing or too-short file is skipped without reading (it cannot be complete).
   */
  async checkExisting(options: CheckOptions = {}): Promise<Set<number>> {
    this.assertOpen();
    const sizes = await Promise.all(
      this.paths.map((p, i) => (this.padding[i] ? Infinity : this.existingSize(p, this.layout.files[i]?.length ?? 0))),
    );
    const verified = new Set<number>();
    const scratch = Buffer.allocUnsafe(Math.min(this.layout.pieceLength, HASH_CHUNK));
    for (let piece = 0; piece < this.pieceCount; piece++) {
      options.signal?.throwIfAborted();
      const spans = spansForBlock(this.layout, piece, 0, sizeOfPiece(this.layout, piece));
      const present = spans.every((s) => (sizes[s.file] as number) >= s.fileOffset + s.length);
      if (!present) {
        this.counters.piecesSkippedFast++;
        this.completion.set(piece, false);
      } else if (await this.hashMatches(piece, scratch)) {
        verified.add(piece);
        await this.markComplete(piece);
      } else {
        this.completion.set(piece, false);
      }
      options.onProgress?.({ checked: piece + 1, total: this.pieceCount, verified: verified.size });
    }
    this.log.debug('storage check done', { verified: verified.size, pieces: this.pieceCount });
    return verified;
  }

  stats(): StorageStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handles.closeAll();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('storage_closed', 'storage is closed');
  }

  /** Size of a file on disk, 0 if it does not exist; other errors (permissions) are reported. */
  private async existingSize(path: string, expected: number): Promise<number> {
    if (expected === 0) return 0;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new StorageError('storage_not_a_file', `${path} exists but is not a regular file`);
      return st.size;
    } catch (err) {
      const mapped = mapFsError(err, path, false);
      if (mapped.code === 'storage_missing') return 0;
      throw mapped;
    }
  }

  /** Reads one span into `out`; false if the file is missing or ends early. */
  private async readSpan(span: FileSpan, out: Uint8Array): Promise<boolean> {
    if (this.padding[span.file]) {
      out.fill(0, span.bufferOffset, span.bufferOffset + span.length);
      return true;
    }
    const path = this.paths[span.file] as string;
    try {
      return await this.handles.use(path, 'read', (fh) => readFully(fh, out, span.bufferOffset, span.length, span.fileOffset));
    } catch (err) {
      const mapped = mapFsError(err, path, false);
      if (mapped.code === 'storage_missing') return false;
      throw mapped;
    }
  }

  /** Streams a piece from disk through SHA-1 using `scratch`; false on mismatch or missing data. */
  private async hashMatches(piece: number, scratch: Buffer): Promise<boolean> {
    const hash = createHash('sha1');
    const size = sizeOfPiece(this.layout, piece);
    for (let done = 0; done < size; ) {
      const n = Math.min(scratch.length, size - done);
      for (const span of spansForBlock(this.layout, piece, done, n)) {
        if (!(await this.readSpan(span, scratch))) return false;
      }
      hash.update(scratch.subarray(0, n));
      done += n;
    }
    this.counters.bytesRead += size;
    const expected = this.layout.pieces.subarray(piece * 20, piece * 20 + 20);
    return bytesEqual(hash.digest(), expected);
  }

  private async markComplete(piece: number): Promise<void> {
    // Zero-length files have no bytes to write; they come into being with the piece they sit in.
    if (!this.readOnly) {
      for (const i of emptyFilesInPiece(this.layout, piece)) {
        if (this.padding[i]) continue;
        const path = this.paths[i] as string;
        try {
          await this.handles.use(path, 'write', async () => undefined);
        } catch (err) {
          throw mapFsError(err, path, true);
        }
      }
    }
    this.completion.set(piece, true);
    this.counters.piecesVerified++;
  }
}

/** Reads exactly `length` bytes at `position` into `out[offset..]`; false if the file ends first. */
async function readFully(fh: FileHandle, out: Uint8Array, offset: number, length: number, position: number): Promise<boolean> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, offset + done, length - done, position + done);
    if (bytesRead === 0) return false;
    done += bytesRead;
  }
  return true;
}
