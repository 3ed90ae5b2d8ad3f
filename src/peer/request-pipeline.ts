/**
 * Our outstanding block requests to one peer, and how many there should be. A peer can only saturate the
 * link if enough requests are queued at it to cover the round trip and its disk latency, so the depth
 * follows the measured download rate: depth = rate * target queue time / block size (libtorrent's
 * `request_queue_time` idea), clamped to [min, max] and to the peer's advertised `reqq` (BEP 10).
 * Sans-I/O: callers pass `now`.
 */
import type { BlockRef } from '../wire/messages.js';

/** Fewest requests kept out to an unchoked, unsnubbed peer: enough to hide one round trip on a slow link. */
export const MIN_PIPELINE_DEPTH = 4;
/** Most requests kept out: 250 x 16 KiB = 4 MiB in flight, libtorrent's default `max_out_request_queue`-ish cap. */
export const MAX_PIPELINE_DEPTH = 250;
/** How many seconds of data, at the current rate, we want requested ahead (libtorrent: request_queue_time 3 s). */
export const TARGET_QUEUE_MS = 3000;
/** A request unanswered this long is given up (libtorrent `request_timeout` 60 s), so the picker can re-assign it. */
export const REQUEST_TIMEOUT_MS = 60_000;

export interface Outstanding extends BlockRef {
  readonly sentAt: number;
}

export interface PipelineOptions {
  minDepth?: number;
  maxDepth?: number;
  targetQueueMs?: number;
  requestTimeoutMs?: number;
  /** Block size the depth is computed in (16 KiB). */
  blockLength?: number;
}

/**
 * One number per block: `begin` is a uint32 from the wire and piece indices stay far below 2^21, so
 * index * 2^32 + begin is exact in a double. Cheaper per block than building a string key.
 */
const key = (index: number, begin: number): number => index * 0x1_0000_0000 + begin;

export class RequestPipeline {
  private readonly out = new Map<number, Outstanding>();
  readonly minDepth: number;
  readonly maxDepth: number;
  readonly targetQueueMs: number;
  readonly requestTimeoutMs: number;
  readonly blockLength: number;

  constructor(options: PipelineOptions = {}) {
    this.minDepth = options.minDepth ?? MIN_PIPELINE_DEPTH;
    this.maxDepth = options.maxDepth ?? MAX_PIPELINE_DEPTH;
    this.targetQueueMs = options.targetQueueMs ?? TARGET_QUEUE_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.blockLength = options.blockLength ?? 16 * 1024;
  }

  /**
   * Target number of outstanding requests for a download rate in bytes/s. A snubbed peer gets one (it
   * has shown it is not sending, so blocks queued there are blocks not fetched elsewhere); `peerLimit` is
   * the peer's `reqq`.
   */
  depth(rateBytesPerSec: number, snubbed = false, peerLimit?: number): number {
    if (snubbed) return 1;
    const wanted = Math.ceil((rateBytesPerSec * this.targetQueueMs) / 1000 / this.blockLength);
    const upper = Math.max(1, Math.min(this.maxDepth, peerLimit ?? this.maxDepth));
    return Math.min(upper, Math.max(this.minDepth, wanted));
  }

  get size(): number {
    return this.out.size;
  }

  has(index: number, begin: number): boolean {
    return this.out.has(key(index, begin));
  }

  get(index: number, begin: number): Outstanding | undefined {
    return this.out.get(key(index, begin));
  }

  /** Records a sent request; false if one for the same block is already out. */
  add(ref: BlockRef, now: number): boolean {
    const k = key(ref.index, ref.begin);
    if (this.out.has(k)) return false;
    this.out.set(k, { index: ref.index, begin: ref.begin, length: ref.length, sentAt: now });
    return true;
  }

  /** Removes and returns the request for a block (answered or cancelled). */
  remove(index: number, begin: number): Outstanding | undefined {
    const k = key(index, begin);
    const o = this.out.get(k);
    if (o !== undefined) this.out.delete(k);
    return o;
  }

  /** Removes and returns every request past its deadline. Requests are kept in send order, so this stops early. */
  expire(now: number): Outstanding[] {
    const expired: Outstanding[] = [];
    for (const [k, o] of this.out) {
      if (now - o.sentAt < this.requestTimeoutMs) break;
      this.out.delete(k);
      expired.push(o);
    }
    return expired;
  }

  /** When the oldest outstanding request will expire, or undefined if none is out. */
  nextDeadline(): number | undefined {
    for (const o of this.out.values()) return o.sentAt + this.requestTimeoutMs;
    return undefined;
  }

  /** Removes and returns everything (the peer choked us or the connection closed). */
  clear(): Outstanding[] {
    const all = [...this.out.values()];
    this.out.clear();
    return all;
  }

  list(): Outstanding[] {
    return [...this.out.values()];
  }
}
