/**
 * Making a torrent (CLI `create`, and `seed` from data in memory): choose a piece length, stream the content
 * through SHA-1 piece by piece (BEP 3 `pieces`), build the info dictionary and the .torrent around it, and
 * parse the result back with the same strict parser every downloader uses, so we never hand out a torrent
 * we would refuse ourselves.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rename, unlink, writeFile, stat } from 'node:fs/promises';
import { createInfo, encodeTorrent } from '../codec/metainfo-builder.js';
import { formatMagnet } from '../codec/magnet.js';
import { MAX_PIECE_LENGTH, MIN_PIECE_LENGTH, parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { wallClockMs } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { CreateError, scanInput, type ScanResult } from './create-scan.js';

export { CreateError } from './create-scan.js';

/** Small inputs get 256 KiB pieces: a common default that keeps per-piece overhead low (mktorrent, qBittorrent). */
export const MIN_AUTO_PIECE_LENGTH = 256 * 1024;
/** Above this a bad piece costs too much to refetch; larger inputs just get more pieces. */
export const MAX_AUTO_PIECE_LENGTH = 16 * 1024 * 1024;
/** Piece count we aim under: keeps the .torrent small (20 bytes per piece) and the bitfield short. */
export const TARGET_MAX_PIECES = 2000;
/** Read size for hashing; sequential reads of this size run near disk speed. */
export const READ_CHUNK = 1024 * 1024;
/** `created by` in the torrents we make. */
export const CREATED_BY = 'dht-node/0.1.0';

/** The smallest power-of-two piece length, from 256 KiB to 16 MiB, giving at most ~2000 pieces. */
export function choosePieceLength(totalBytes: number): number {
  let pieceLength = MIN_AUTO_PIECE_LENGTH;
  while (pieceLength < MAX_AUTO_PIECE_LENGTH && totalBytes / pieceLength > TARGET_MAX_PIECES) pieceLength *= 2;
  return pieceLength;
}

export interface CreateProgress {
  bytesHashed: number;
  totalBytes: number;
}

export interface CreateOptions {
  /** Power of two in MIN_PIECE_LENGTH..MAX_PIECE_LENGTH; chosen from the size when absent. */
  pieceLength?: number;
  trackers?: readonly string[];
  comment?: string;
  /** BEP 27 private flag. */
  private?: boolean;
  /** Seconds since the epoch; `null` leaves the field out; absent means now (deps.wallClockMs). */
  creationDate?: number | null;
  createdBy?: string;
  signal?: AbortSignal;
  /** Called after each chunk hashed. */
  onProgress?: (progress: CreateProgress) => void;
}

export interface CreateDeps {
  /** Wall-clock milliseconds for `creation date` (default util/clock wallClockMs). */
  wallClockMs?: () => number;
}

export interface CreatedTorrent {
  /** The .torrent file bytes. */
  torrent: Uint8Array;
  /** The torrent parsed back (infohash, files, pieces). */
  metainfo: Metainfo;
  infoHashHex: string;
  magnet: string;
  /** Inputs left out of a folder torrent (symlinks leaving it, special files, refused names). */
  skipped: { path: string; reason: string }[];
}

/** In-memory content: one file (`data`) or several (`files`, a multi-file torrent named `name`). */
export type MemoryInput = { name: string; data: Uint8Array } | { name: string; files: readonly { path: readonly string[]; data: Uint8Array }[] };

/** Accumulates content into piece hashes without holding more than the running SHA-1 state. */
class PieceHasher {
  private hash: Hash = createHash('sha1');
  private inPiece = 0;
  private readonly digests: Uint8Array[] = [];
  bytes = 0;

  constructor(private readonly pieceLength: number) {}

  update(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(chunk.length - pos, this.pieceLength - this.inPiece);
      this.hash.update(chunk.subarray(pos, pos + n));
      pos += n;
      this.inPiece += n;
      if (this.inPiece === this.pieceLength) this.cut();
    }
    this.bytes += chunk.length;
  }

  private cut(): void {
    this.digests.push(this.hash.digest());
    this.hash = createHash('sha1');
    this.inPiece = 0;
  }

  finish(): Uint8Array {
    if (this.inPiece > 0) this.cut();
    const out = new Uint8Array(this.digests.length * 20);
    this.digests.forEach((d, i) => out.set(d, i * 20));
    return out;
  }
}

function checkPieceLength(pieceLength: number): void {
  if (!Number.isInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new CreateError('create_bad_piece_length', `piece length must be a power of two from ${MIN_PIECE_LENGTH} to ${MAX_PIECE_LENGTH}, got ${pieceLength}`);
  }
}

function finish(deps: CreateDeps, options: CreateOptions, info: Parameters<typeof createInfo>[0], skipped: CreatedTorrent['skipped']): CreatedTorrent {
  const creationDate =
    options.creationDate === null ? undefined : options.creationDate ?? Math.floor((deps.wallClockMs ?? wallClockMs)() / 1000);
  const torrent = encodeTorrent({
    info: createInfo(info),
    trackers: options.trackers ?? [],
    comment: options.comment,
    createdBy: options.createdBy ?? CREATED_BY,
    creationDate,
  });
  // Parse back with the downloader's parser: a name it would refuse fails here, not on someone else's machine.
  const metainfo = parseMetainfo(torrent);
  return {
    torrent,
    metainfo,
    infoHashHex: toHex(metainfo.infoHash),
    magnet: formatMagnet(metainfo.infoHash, { name: metainfo.name, trackers: options.trackers ?? [] }),
    skipped,
  };
}

/** Hashes one file in READ_CHUNK reads; the file must still hold `length` bytes. */
async function hashFile(abs: string, length: number, hasher: PieceHasher, buffer: Buffer, total: number, options: CreateOptions): Promise<void> {
  let fh;
  try {
    fh = await open(abs, 'r');
  } catch (err) {
    throw new CreateError('create_unreadable', `cannot read ${abs}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    for (let pos = 0; pos < length; ) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, length - pos), pos);
      if (bytesRead === 0) throw new CreateError('create_input_changed', `${abs} shrank while it was being hashed`);
      hasher.update(buffer.subarray(0, bytesRead));
      pos += bytesRead;
      options.onProgress?.({ bytesHashed: hasher.bytes, totalBytes: total });
    }
  } catch (err) {
    if (err instanceof CreateError || (err instanceof Error && err.name === 'AbortError')) throw err;
    throw new CreateError('create_unreadable', `cannot read ${abs}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    await fh.close();
  }
}

/** Makes a torrent of a file or folder on disk. Throws CreateError (or a DecodeError for an unusable name). */
export async function createTorrentFromPath(deps: CreateDeps, input: string, options: CreateOptions = {}): Promise<CreatedTorrent> {
  const scan: ScanResult = await scanInput(input);
  const total = scan.files.reduce((n, f) => n + f.length, 0);
  if (total === 0) throw new CreateError('create_empty', `${input} holds no data (a torrent needs at least one byte)`);
  const pieceLength = options.pieceLength ?? choosePieceLength(total);
  checkPieceLength(pieceLength);
  const hasher = new PieceHasher(pieceLength);
  const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(total, 1)));
  for (const f of scan.files) await hashFile(f.abs, f.length, hasher, buffer, total, options);
  const pieces = hasher.finish();
  const base = { name: scan.name, pieceLength, pieces, private: options.private };
  const info = scan.multiFile
    ? { ...base, files: scan.files.map((f) => ({ path: f.path, length: f.length })) }
    : { ...base, length: total };
  return finish(deps, options, info, scan.skipped);
}

/** Makes a torrent of content held in memory (for `seed` of generated data, and tests). */
export function createTorrentFromMemory(deps: CreateDeps, input: MemoryInput, options: CreateOptions = {}): CreatedTorrent {
  const parts = 'data' in input ? [{ path: [] as readonly string[], data: input.data }] : input.files;
  const total = parts.reduce((n, f) => n + f.data.length, 0);
  if (total === 0) throw new CreateError('create_empty', 'a torrent needs at least one byte of content');
  const pieceLength = options.pieceLength ?? choosePieceLength(total);
  checkPieceLength(pieceLength);
  const hasher = new PieceHasher(pieceLength);
  for (const p of parts) {
    hasher.update(p.data);
    options.onProgress?.({ bytesHashed: hasher.bytes, totalBytes: total });
  }
  const base = { name: input.name, pieceLength, pieces: hasher.finish(), private: options.private };
  const info = 'data' in input ? { ...base, length: total } : { ...base, files: input.files.map((f) => ({ path: f.path, length: f.data.length })) };
  return finish(deps, options, info, []);
}

/**
 * Writes a .torrent atomically (temporary file, then rename), so a crash never leaves half a torrent under
 * the real name. An existing file is kept unless `force`.
 */
export async function writeTorrentFile(path: string, bytes: Uint8Array, options: { force?: boolean } = {}): Promise<void> {
  if (!options.force) {
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists) throw new CreateError('create_output_exists', `${path} already exists (use --force to replace it)`);
  }
  const tmp = `${path}.partial-${process.pid}`;
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new CreateError('create_write_failed', `cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
