/**
 * The upload side's source of block data: each block a peer asked for is paced by the session's upload
 * limiter and read from whole cached pieces (PieceReadCache). When the tokens are there and the piece is
 * cached the bytes are returned synchronously, so the connection writes a run of blocks in one batch; else
 * a promise. A peer choked or gone while its block waited for tokens gets nothing, and the tokens go back
 * to the others.
 */
import type { PieceStorage } from '../storage/piece-storage.js';
import type { BlockRef } from '../wire/messages.js';
import { PieceReadCache } from './piece-read-cache.js';
import type { RateLimiter } from './rate-limiter.js';

/** What the supplier needs to know of the peer a block is for. */
export interface ServedPeer {
  readonly isClosed: boolean;
  readonly amChoking: boolean;
}

export interface BlockSupplierDeps {
  storage: PieceStorage;
  pieceSize: (index: number) => number;
  /** The session's upload limiter (shared by every peer). */
  limiter: RateLimiter;
  /** Aborts waits for tokens when the session closes. */
  signal: AbortSignal;
  /** Memory for cached pieces (default READ_CACHE_BYTES). */
  readCacheBytes?: number;
}

export class BlockSupplier {
  private readonly cache: PieceReadCache;

  constructor(private readonly deps: BlockSupplierDeps) {
    this.cache = new PieceReadCache(deps.storage, deps.pieceSize, deps.readCacheBytes);
  }

  /**
   * The bytes of `ref` for `peer`, or undefined when they are not to be sent after all. `sending` is called
   * once the block is certain to go out (the super-seeder counts it).
   */
  block(peer: ServedPeer, ref: BlockRef, sending: () => void): Uint8Array | undefined | Promise<Uint8Array | undefined> {
    if (!this.deps.limiter.tryTake(ref.length)) return this.blockLater(peer, ref, sending);
    if (!this.stillServable(peer, ref)) return undefined;
    sending();
    return this.cache.blockNow(ref.index, ref.begin, ref.length) ?? this.cache.readBlock(ref.index, ref.begin, ref.length);
  }

  /** The connection is done with a block `block` gave (written out, or dropped): its piece buffer may be reused. */
  release(data: Uint8Array): void {
    this.cache.release(data);
  }

  private async blockLater(peer: ServedPeer, ref: BlockRef, sending: () => void): Promise<Uint8Array | undefined> {
    try {
      await this.deps.limiter.take(ref.length, this.deps.signal);
    } catch {
      return undefined;
    }
    if (!this.stillServable(peer, ref)) return undefined;
    sending();
    return this.cache.readBlock(ref.index, ref.begin, ref.length);
  }

  /** Choked or gone while waiting for tokens: the bytes are not sent, so the budget goes back to other peers. */
  private stillServable(peer: ServedPeer, ref: BlockRef): boolean {
    if (!peer.isClosed && !peer.amChoking && this.deps.storage.have(ref.index)) return true;
    this.deps.limiter.refund(ref.length);
    return false;
  }
}
