/**
 * An in-memory PieceStorage for tests and simulations (and for seeding data held in memory). Same contract
 * as the file backend: a piece is complete only once its bytes hash correctly.
 */
import {
  checkBlock,
  checkWholePiece,
  Completion,
  emptyStats,
  sizeOfPiece,
  pieceMatches,
  StorageError,
  type CheckOptions,
  type PieceStorage,
  type StorageLayout,
  type StorageStats,
} from './piece-storage.js';

export interface MemoryStorageOptions {
  layout: StorageLayout;
  /** Initial content (the whole torrent, concatenated); checkExisting() verifies it like files on disk. */
  content?: Uint8Array;
}

export class MemoryStorage implements PieceStorage {
  readonly pieceCount: number;
  private readonly layout: StorageLayout;
  /** One buffer per piece, allocated on first write, so a mostly-empty large torrent costs little. */
  private readonly data: (Uint8Array | undefined)[];
  private readonly completion: Completion;
  private readonly counters: StorageStats = emptyStats();
  private closed = false;

  constructor(_deps: object, options: MemoryStorageOptions) {
    this.layout = options.layout;
    this.pieceCount = options.layout.pieceCount;
    this.completion = new Completion(this.pieceCount);
    this.data = new Array<Uint8Array | undefined>(this.pieceCount).fill(undefined);
    if (options.content !== undefined) {
      if (options.content.length !== options.layout.totalLength) {
        throw new StorageError('storage_out_of_range', `content is ${options.content.length} bytes, torrent is ${options.layout.totalLength}`);
      }
      for (let p = 0; p < this.pieceCount; p++) {
        const start = p * this.layout.pieceLength;
        this.data[p] = options.content.slice(start, start + sizeOfPiece(this.layout, p));
      }
    }
  }

  async readBlock(piece: number, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    this.assertOpen();
    checkBlock(this.layout, piece, offset, length);
    if (into !== undefined && into.length < length) throw new RangeError(`a ${into.length}-byte buffer for ${length} bytes`);
    const buf = this.data[piece];
    if (buf === undefined) throw new StorageError('storage_missing', `piece ${piece} has no data`);
    this.counters.bytesRead += length;
    const bytes = buf.subarray(offset, offset + length);
    if (into === undefined) return bytes.slice();
    into.set(bytes);
    return into.subarray(0, length);
  }

  async writeBlock(piece: number, offset: number, data: Uint8Array): Promise<void> {
    this.assertOpen();
    checkBlock(this.layout, piece, offset, data.length);
    if (this.completion.has(piece)) {
      this.counters.writesIgnored++;
      return;
    }
    let buf = this.data[piece];
    if (buf === undefined) {
      buf = new Uint8Array(sizeOfPiece(this.layout, piece));
      this.data[piece] = buf;
    }
    buf.set(data, offset);
    this.counters.bytesWritten += data.length;
  }

  async commitPiece(piece: number, data: Uint8Array, digest?: Uint8Array): Promise<boolean> {
    this.assertOpen();
    checkWholePiece(this.layout, piece, data);
    if (this.completion.has(piece)) return true;
    if (!pieceMatches(this.layout, piece, data, digest)) {
      // a failed piece is not stored
      this.completion.set(piece, false);
      this.counters.piecesFailed++;
      return false;
    }
    this.data[piece] = data.slice();
    this.counters.bytesWritten += data.length;
    this.completion.set(piece, true);
    this.counters.piecesVerified++;
    return true;
  }

  async verifyPiece(piece: number): Promise<boolean> {
    this.assertOpen();
    checkBlock(this.layout, piece, 0, 0);
    const ok = this.matches(piece);
    this.completion.set(piece, ok);
    if (ok) this.counters.piecesVerified++;
    else this.counters.piecesFailed++;
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

  async checkExisting(options: CheckOptions = {}): Promise<Set<number>> {
    this.assertOpen();
    const verified = new Set<number>();
    for (let p = 0; p < this.pieceCount; p++) {
      options.signal?.throwIfAborted();
      if (this.data[p] === undefined) this.counters.piecesSkippedFast++;
      const ok = this.matches(p);
      this.completion.set(p, ok);
      if (ok) {
        verified.add(p);
        this.counters.piecesVerified++;
      }
      options.onProgress?.({ checked: p + 1, total: this.pieceCount, verified: verified.size });
    }
    return verified;
  }

  stats(): StorageStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private matches(piece: number): boolean {
    const buf = this.data[piece];
    return buf !== undefined && pieceMatches(this.layout, piece, buf);
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('storage_closed', 'storage is closed');
  }
}
