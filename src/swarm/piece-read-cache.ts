/**
 * Whole pieces read for serving, kept briefly: a peer downloading a piece asks for its 16 KiB blocks one
 * after another, so reading the piece once and serving its blocks from memory turns sixteen or more disk
 * reads into one. Bounded in bytes (least recently used first out); pieces too large to be worth keeping
 * are read block by block.
 *
 * The piece buffers are reused. A fresh buffer per piece read made a seeder's memory outside V8's heap grow
 * by a GiB per GiB served, and V8 answers such growth with full mark-compacts (16 per GiB served, about a
 * sixth of the seeder's CPU). So each block handed out is a lease on its piece's buffer, ended by
 * `release(block)` once the socket has taken the bytes or the block was dropped; a piece's own read holds
 * a lease too. An evicted piece's buffer is reused once its last lease ends. A lease never ended only
 * keeps that buffer from being reused (it is then an ordinary garbage-collected buffer).
 */
import type { PieceStorage } from '../storage/piece-storage.js';

/** Memory for cached pieces. */
export const READ_CACHE_BYTES = 32 * 1024 * 1024;
/** Larger pieces are not cached (one would crowd out the rest). */
export const MAX_CACHED_PIECE = 4 * 1024 * 1024;

/** One cached piece. */
interface Entry {
  readonly buffer: Uint8Array;
  readonly size: number;
  /** Settles when the read is done, with the piece's bytes (a view of `buffer`). */
  readonly reading: Promise<Uint8Array>;
  /** Set once the read has succeeded. */
  bytes: Uint8Array | undefined;
  /** Blocks handed out and not released, plus the read while it runs, plus readers waiting for it. */
  leases: number;
  /** Dropped from the cache: the buffer goes back to the spares when the last lease ends. */
  evicted: boolean;
}

export class PieceReadCache {
  readonly stats = { hits: 0, misses: 0, reused: 0 };
  /** Insertion order is recency order: a hit moves the piece to the end. */
  private readonly pieces = new Map<number, Entry>();
  /** Each cached buffer's entry, found from a block's `.buffer` on release. */
  private readonly owners = new WeakMap<ArrayBufferLike, Entry>();
  /** Free buffers of the usual piece size. */
  private readonly spares: Uint8Array[] = [];
  private bytes = 0;

  constructor(
    private readonly storage: PieceStorage,
    private readonly pieceSize: (index: number) => number,
    private readonly maxBytes = READ_CACHE_BYTES,
  ) {}

  /**
   * The bytes of a block when its piece is cached and read already (no await); undefined otherwise. The
   * caller ends the lease with release(block).
   */
  blockNow(index: number, begin: number, length: number): Uint8Array | undefined {
    const entry = this.pieces.get(index);
    if (entry?.bytes === undefined) return undefined;
    this.stats.hits++;
    this.touch(index, entry);
    entry.leases++;
    return entry.bytes.subarray(begin, begin + length);
  }

  /** The bytes of a block of a piece we have. The caller ends the lease with release(block). */
  async readBlock(index: number, begin: number, length: number): Promise<Uint8Array> {
    const size = this.pieceSize(index);
    if (!this.cacheable(size)) return this.storage.readBlock(index, begin, length);
    let entry = this.pieces.get(index);
    if (entry !== undefined) {
      this.stats.hits++;
      this.touch(index, entry);
    } else {
      this.stats.misses++;
      entry = this.load(index, size);
    }
    // Taken before waiting: the piece may be evicted meanwhile, and its buffer must not be reused under us.
    entry.leases++;
    try {
      return (await entry.reading).subarray(begin, begin + length);
    } catch (err) {
      this.endLease(entry);
      throw err;
    }
  }

  /** Ends the lease of a block from blockNow or readBlock (its bytes were written out, or dropped). */
  release(block: Uint8Array): void {
    const entry = this.owners.get(block.buffer);
    if (entry !== undefined) this.endLease(entry);
  }

  private cacheable(size: number): boolean {
    return size <= MAX_CACHED_PIECE && size <= this.maxBytes;
  }

  /** Starts reading a piece into a spare buffer or a new one, and caches it. */
  private load(index: number, size: number): Entry {
    const spare = size === this.pieceSize(0) ? this.spares.pop() : undefined;
    if (spare !== undefined) this.stats.reused++;
    // Its own ArrayBuffer (never a slice of Node's shared pool), so a block's `.buffer` names its piece.
    const buffer = spare ?? new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
    const reading = this.storage.readBlock(index, 0, size, buffer);
    const entry: Entry = { buffer, size, reading, bytes: undefined, leases: 1, evicted: false };
    this.owners.set(buffer.buffer, entry);
    reading.then(
      (bytes) => {
        entry.bytes = bytes;
        this.endLease(entry);
      },
      () => {
        // A failed read must not stay cached.
        if (this.pieces.get(index) === entry) this.drop(index, entry);
        this.endLease(entry);
      },
    );
    this.pieces.set(index, entry);
    this.bytes += size;
    while (this.bytes > this.maxBytes) {
      const [oldest, old] = this.pieces.entries().next().value as [number, Entry];
      this.drop(oldest, old);
    }
    return entry;
  }

  /** Marks a piece most recently used (Map insertion order is the recency order). */
  private touch(index: number, entry: Entry): void {
    this.pieces.delete(index);
    this.pieces.set(index, entry);
  }

  private drop(index: number, entry: Entry): void {
    this.pieces.delete(index);
    this.bytes -= entry.size;
    entry.evicted = true;
    if (entry.leases === 0) this.recycle(entry);
  }

  private endLease(entry: Entry): void {
    entry.leases--;
    if (entry.leases === 0 && entry.evicted) this.recycle(entry);
  }

  /** An evicted piece's buffer, free of leases, becomes a spare (up to the cache's own budget of them). */
  private recycle(entry: Entry): void {
    this.owners.delete(entry.buffer.buffer);
    if (entry.size === this.pieceSize(0) && (this.spares.length + 1) * entry.size <= this.maxBytes) this.spares.push(entry.buffer);
  }
}
