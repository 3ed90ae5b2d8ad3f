/**
 * Whole pieces read for serving, kept briefly: a peer downloading a piece asks for its 16 KiB blocks one
 * after another, so reading the piece once and serving its blocks from memory turns sixteen or more disk
 * reads into one. Bounded in bytes (least recently used first out); pieces too large to be worth keeping
 * are read block by block.
 */
import type { PieceStorage } from '../storage/piece-storage.js';

/** Memory for cached pieces. */
export const READ_CACHE_BYTES = 32 * 1024 * 1024;
/** Larger pieces are not cached (one would crowd out the rest). */
export const MAX_CACHED_PIECE = 4 * 1024 * 1024;

export class PieceReadCache {
  readonly stats = { hits: 0, misses: 0 };
  /** Insertion order is recency order: a hit moves the piece to the end. */
  private readonly pieces = new Map<number, Promise<Uint8Array>>();
  private readonly sizes = new Map<number, number>();
  /** The cached pieces whose read has finished, for blockNow. */
  private readonly ready = new Map<number, Uint8Array>();
  private bytes = 0;

  constructor(
    private readonly storage: PieceStorage,
    private readonly pieceSize: (index: number) => number,
    private readonly maxBytes = READ_CACHE_BYTES,
  ) {}

  /** The bytes of a block when its piece is cached and read already (no await); undefined otherwise. */
  blockNow(index: number, begin: number, length: number): Uint8Array | undefined {
    const piece = this.ready.get(index);
    if (piece === undefined) return undefined;
    this.stats.hits++;
    this.touch(index);
    return piece.subarray(begin, begin + length);
  }

  /** The bytes of a block of a piece we have. */
  async readBlock(index: number, begin: number, length: number): Promise<Uint8Array> {
    const size = this.pieceSize(index);
    if (size > MAX_CACHED_PIECE || size > this.maxBytes) return this.storage.readBlock(index, begin, length);
    let piece = this.pieces.get(index);
    if (piece !== undefined) {
      this.stats.hits++;
      this.touch(index);
    } else {
      this.stats.misses++;
      piece = this.storage.readBlock(index, 0, size);
      this.pieces.set(index, piece);
      this.sizes.set(index, size);
      this.bytes += size;
      const reading = piece;
      // A failed read must not stay cached.
      reading.then(
        (bytes) => {
          if (this.pieces.get(index) === reading) this.ready.set(index, bytes);
        },
        () => this.drop(index),
      );
      while (this.bytes > this.maxBytes) {
        const oldest = this.pieces.keys().next().value as number;
        this.drop(oldest);
      }
    }
    return (await piece).subarray(begin, begin + length);
  }

  /** Marks a piece most recently used (Map insertion order is the recency order). */
  private touch(index: number): void {
    const piece = this.pieces.get(index);
    if (piece === undefined) return;
    this.pieces.delete(index);
    this.pieces.set(index, piece);
  }

  private drop(index: number): void {
    this.ready.delete(index);
    if (!this.pieces.delete(index)) return;
    this.bytes -= this.sizes.get(index) ?? 0;
    this.sizes.delete(index);
  }
}
