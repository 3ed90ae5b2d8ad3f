/**
 * The peer's requests to us that we have accepted but not yet served, in arrival order. Bounded: past the
 * cap new requests are dropped (the cap is what we advertise as `reqq`, BEP 10, so a well-behaved peer never
 * hits it). Cancels (BEP 3) remove a queued request; duplicates are ignored.
 */
import type { BlockRef } from '../wire/messages.js';

/** Requests we queue per peer; advertised as `reqq`. libtorrent defaults to 500 (`max_allowed_in_request_queue`). */
export const MAX_INCOMING_REQUESTS = 500;

const key = (r: BlockRef): string => `${r.index}:${r.begin}:${r.length}`;

export class IncomingRequests {
  private readonly queue = new Map<string, BlockRef>();

  constructor(readonly capacity: number = MAX_INCOMING_REQUESTS) {}

  get size(): number {
    return this.queue.size;
  }

  /** 'added', 'duplicate' or 'full'. */
  add(ref: BlockRef): 'added' | 'duplicate' | 'full' {
    const k = key(ref);
    if (this.queue.has(k)) return 'duplicate';
    if (this.queue.size >= this.capacity) return 'full';
    this.queue.set(k, { index: ref.index, begin: ref.begin, length: ref.length });
    return 'added';
  }

  /** Removes a queued request (a cancel); true if it was queued. */
  remove(ref: BlockRef): boolean {
    return this.queue.delete(key(ref));
  }

  /** The oldest request, removed. */
  shift(): BlockRef | undefined {
    for (const [k, r] of this.queue) {
      this.queue.delete(k);
      return r;
    }
    return undefined;
  }

  clear(): number {
    const n = this.queue.size;
    this.queue.clear();
    return n;
  }
}
