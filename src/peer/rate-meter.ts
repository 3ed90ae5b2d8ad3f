/**
 * A rolling byte rate over a short window, on the injected clock: the choker compares peers by it
 * (tit-for-tat over ~the last few seconds, as BEP 3 suggests "a rolling 20-second average" was too slow to
 * react in practice; libtorrent uses a few seconds) and the pipeline sizes itself by it.
 */

/** Width of one bucket. */
export const RATE_BUCKET_MS = 1000;
/** The averaging window: long enough to smooth bursty TCP delivery, short enough to follow changes. */
export const RATE_WINDOW_MS = 5000;

export class RateMeter {
  private readonly buckets: number[];
  private readonly keys: number[];
  private readonly startedAt: number;
  private totalBytes = 0;

  constructor(now: number, windowMs: number = RATE_WINDOW_MS, private readonly bucketMs: number = RATE_BUCKET_MS) {
    const n = Math.max(1, Math.ceil(windowMs / bucketMs));
    this.buckets = new Array<number>(n).fill(0);
    this.keys = new Array<number>(n).fill(-1);
    this.startedAt = now;
  }

  /** Records `bytes` transferred at `now`. */
  add(bytes: number, now: number): void {
    const key = Math.floor(now / this.bucketMs);
    const slot = key % this.buckets.length;
    if (this.keys[slot] !== key) {
      this.keys[slot] = key;
      this.buckets[slot] = 0;
    }
    this.buckets[slot] = (this.buckets[slot] as number) + bytes;
    this.totalBytes += bytes;
  }

  /** Bytes per second over the window ending at `now`. */
  rate(now: number): number {
    const key = Math.floor(now / this.bucketMs);
    const n = this.buckets.length;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const k = this.keys[i] as number;
      if (k > key - n && k <= key) sum += this.buckets[i] as number;
    }
    // The newest bucket is only partly elapsed, so the counted span is the older full buckets plus that part
    // (or the meter's age while it is younger than that), never less than one bucket.
    const span = (n - 1) * this.bucketMs + (now - key * this.bucketMs);
    const elapsed = Math.max(this.bucketMs, Math.min(span, now - this.startedAt));
    return (sum * 1000) / elapsed;
  }

  /** All bytes ever recorded. */
  get total(): number {
    return this.totalBytes;
  }
}
