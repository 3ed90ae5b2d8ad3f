/**
 * A transfer rate over a sliding window on the Clock: the choker ranks peers by it, and progress events
 * report it. Buckets of one second; the rate is the bytes in the buckets of the window divided by the time
 * they span (or by the meter's age while younger than the window, so a new fast peer is not underrated).
 */
import type { Clock } from '../util/clock.js';

/** BEP 3 suggests "a rolling 20-second average" for the rates the choker compares. */
export const RATE_WINDOW_MS = 20_000;
const BUCKET_MS = 1_000;

export class RateMeter {
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly buckets: number[];
  private readonly start: number;
  /** Index (time / BUCKET_MS) of the newest bucket. */
  private head: number;
  /** Bytes counted since creation. */
  total = 0;

  constructor(deps: { clock: Clock }, options: { windowMs?: number } = {}) {
    this.clock = deps.clock;
    this.windowMs = options.windowMs ?? RATE_WINDOW_MS;
    this.buckets = new Array<number>(Math.max(1, Math.ceil(this.windowMs / BUCKET_MS))).fill(0);
    this.start = this.clock.now();
    this.head = Math.floor(this.start / BUCKET_MS);
  }

  /** Counts `n` bytes transferred now. */
  add(n: number): void {
    this.advance();
    const i = this.head % this.buckets.length;
    this.buckets[i] = (this.buckets[i] as number) + n;
    this.total += n;
  }

  /** Bytes per second over the window. */
  rate(): number {
    this.advance();
    let sum = 0;
    for (const b of this.buckets) sum += b;
    // The newest bucket is only partly elapsed: the span is the full older buckets plus that part.
    const now = this.clock.now();
    const span = (this.buckets.length - 1) * BUCKET_MS + (now % BUCKET_MS);
    return (sum * 1000) / Math.max(BUCKET_MS, Math.min(span, now - this.start));
  }

  private advance(): void {
    const now = Math.floor(this.clock.now() / BUCKET_MS);
    const steps = Math.min(this.buckets.length, now - this.head);
    for (let s = 1; s <= steps; s++) this.buckets[(this.head + s) % this.buckets.length] = 0;
    if (now > this.head) this.head = now;
  }
}
