/**
 * The download side of one connection, the counterpart of BlockServer: our requests out to the peer, how
 * many there should be, the blocks coming back, and the two clocks on them (a request unanswered for the
 * request timeout is given up; no block for the snub timeout while requests are out marks the peer
 * snubbed). Sans-I/O: the connection sends the messages and passes `now`.
 */
import { DecodeError } from '../util/errors.js';
import type { BlockRef } from '../wire/messages.js';
import { RateMeter } from './rate-meter.js';
import { RequestPipeline, type Outstanding, type PipelineOptions } from './request-pipeline.js';

/** The pipeline is topped up once an eighth of its depth is free (see `free`). */
export const REFILL_DIVISOR = 8;

export interface BlockRequestsOptions extends PipelineOptions {
  /** No block for this long while unchoked with requests out: snubbed. */
  snubTimeoutMs: number;
  /** Timed-out requests remembered, so a late block for one is still taken (and counted as late). */
  maxTimedOutRemembered: number;
}

/** What became of an arriving block. */
export type BlockArrival = 'requested' | 'late' | 'unsolicited';

export class BlockRequests {
  readonly counters = { unsolicitedBlocks: 0, lateBlocks: 0, requestTimeouts: 0 };
  private readonly pipeline: RequestPipeline;
  private readonly down: RateMeter;
  private readonly timedOut = new Set<string>();
  /** Since when we have been waiting for a block (last block, unchoke, or first request out). */
  private waitingSince: number;
  private snubbedState = false;

  constructor(private readonly options: BlockRequestsOptions, now: number) {
    this.pipeline = new RequestPipeline(options);
    this.down = new RateMeter(now);
    this.waitingSince = now;
  }

  get snubbed(): boolean {
    return this.snubbedState;
  }

  /** Requests out. */
  get size(): number {
    return this.pipeline.size;
  }

  get bytesReceived(): number {
    return this.down.total;
  }

  rate(now: number): number {
    return this.down.rate(now);
  }

  /** Target number of requests out at the current rate; `peerLimit` is the peer's `reqq` (BEP 10). */
  depth(now: number, peerLimit?: number): number {
    return this.pipeline.depth(this.down.rate(now), this.snubbedState, peerLimit);
  }

  /** Requests that fit below the depth now. */
  room(now: number, peerLimit?: number): number {
    return Math.max(0, this.depth(now, peerLimit) - this.pipeline.size);
  }

  /**
   * Requests to send now: the room below the depth, once it is at least 1/REFILL_DIVISOR of the depth (0
   * before). Topping up a deep pipeline a block at a time cost a loopback write and a picker call per
   * 16 KiB; refilling in runs keeps 7/8 of the queue out and sends the requests together. A shallow
   * pipeline still refills per block.
   */
  free(now: number, peerLimit?: number): number {
    const depth = this.depth(now, peerLimit);
    const room = depth - this.pipeline.size;
    return room >= Math.max(1, Math.floor(depth / REFILL_DIVISOR)) ? room : 0;
  }

  /** Records a request about to be sent; false if the same block is already out. */
  add(ref: BlockRef, now: number): boolean {
    if (this.pipeline.size === 0) this.waitingSince = now;
    return this.pipeline.add(ref, now);
  }

  /** Takes back a request (a cancel); false if it was not out. */
  remove(ref: BlockRef): boolean {
    return this.pipeline.remove(ref.index, ref.begin) !== undefined;
  }

  /** Our requests still out. */
  list(): Outstanding[] {
    return this.pipeline.list();
  }

  /** Drops every request (the peer choked us, BEP 3, or the connection closed) and returns them. */
  clear(): Outstanding[] {
    return this.pipeline.clear();
  }

  /** The peer unchoked us: the snub clock starts now. */
  unchoked(now: number): void {
    this.waitingSince = now;
  }

  /**
   * A block arrived. Throws DecodeError `wire_block_mismatch` when its length differs from the request's.
   * A block never requested (or cancelled while in flight, a BEP 3 race) is `unsolicited` and not counted
   * as data.
   */
  received(index: number, begin: number, length: number, now: number): BlockArrival {
    let arrival: BlockArrival = 'requested';
    const out = this.pipeline.remove(index, begin);
    if (out === undefined) {
      if (!this.timedOut.delete(timedOutKey(index, begin, length))) {
        this.counters.unsolicitedBlocks++;
        return 'unsolicited';
      }
      arrival = 'late';
      this.counters.lateBlocks++;
    } else if (out.length !== length) {
      throw new DecodeError('wire_block_mismatch', `block of ${length} bytes for a request of ${out.length}`);
    }
    this.down.add(length, now);
    this.waitingSince = now;
    this.snubbedState = false;
    return arrival;
  }

  /**
   * The periodic check: whether the peer has just become snubbed (only while it unchokes us), and the
   * requests that just timed out (remembered, so their blocks are still taken if they come late).
   */
  tick(now: number, peerChoking: boolean): { snubbedNow: boolean; expired: Outstanding[] } {
    // Snub before expiring requests: with equal timeouts, the expiry would otherwise hide the snub.
    let snubbedNow = false;
    if (!this.snubbedState && !peerChoking && this.pipeline.size > 0 && now - this.waitingSince >= this.options.snubTimeoutMs) {
      this.snubbedState = snubbedNow = true;
    }
    const expired = this.pipeline.expire(now);
    for (const o of expired) {
      this.counters.requestTimeouts++;
      if (this.timedOut.size >= this.options.maxTimedOutRemembered) {
        const oldest = this.timedOut.values().next();
        if (oldest.done !== true) this.timedOut.delete(oldest.value);
      }
      this.timedOut.add(timedOutKey(o.index, o.begin, o.length));
    }
    return { snubbedNow, expired };
  }
}

/** Timeouts are rare, so a readable string key costs nothing that matters. */
function timedOutKey(index: number, begin: number, length: number): string {
  return `${index}:${begin}:${length}`;
}
