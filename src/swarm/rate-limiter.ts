/**
 * A token bucket on an injected Clock: `take(n)` resolves once `n` bytes may pass at `bytesPerSecond`.
 * One instance per direction is shared by every peer of a session (--upload-limit, --download-limit apply
 * to the total, loopback included, as CLI.md says). Upload is paced where a block is about to be sent; the
 * download side cannot stop a peer from sending, so it is paced where we ask: tokens are taken before each
 * request goes out, which bounds what peers will send us to the same rate (plus what was in flight).
 *
 * The bucket may go into debt: a take larger than what is available is granted after the debt is repaid,
 * so callers are served in arrival order (each later caller sees a deeper debt and waits longer) and a
 * request larger than the burst size still passes, at the configured rate.
 */
import { sleep, type Clock } from '../util/clock.js';

/** Burst: one second's worth of tokens, so an idle link can start at full speed without exceeding the rate
 * by more than that over any window. Never below one 16 KiB block, so a slow limit still moves a block. */
export const BURST_SECONDS = 1;
export const MIN_BURST_BYTES = 16 * 1024;

export interface RateLimiterDeps {
  clock: Clock;
}

export interface RateLimiterOptions {
  /** Bytes per second; 0 means unlimited. */
  bytesPerSecond: number;
}

export class RateLimiter {
  private readonly clock: Clock;
  private rate: number;
  private tokens: number;
  private last: number;

  constructor(deps: RateLimiterDeps, options: RateLimiterOptions) {
    this.clock = deps.clock;
    this.rate = checkRate(options.bytesPerSecond);
    this.tokens = this.burst();
    this.last = this.clock.now();
  }

  /** The configured rate (0 = unlimited). */
  get bytesPerSecond(): number {
    return this.rate;
  }

  /** Changes the rate; tokens already held are clipped to the new burst. */
  setRate(bytesPerSecond: number): void {
    this.refill();
    this.rate = checkRate(bytesPerSecond);
    this.tokens = Math.min(this.tokens, this.burst());
  }

  /** Milliseconds a `take(n)` issued now would wait (0 when unlimited or tokens are available). */
  delayFor(n: number): number {
    if (this.rate === 0) return 0;
    this.refill();
    const after = this.tokens - n;
    return after >= 0 ? 0 : Math.ceil((-after / this.rate) * 1000);
  }

  /**
   * Takes `n` tokens, waiting on the clock until the bucket's debt is repaid. Rejects with the signal's
   * reason if aborted while waiting (the tokens stay spent: the bytes may already be on their way).
   */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (this.rate === 0 || n <= 0) return;
    this.refill();
    this.tokens -= n;
    if (this.tokens >= 0) return;
    await sleep(this.clock, Math.ceil((-this.tokens / this.rate) * 1000), signal);
  }

  /** Takes `n` tokens if they are available now (always when unlimited); false, taking nothing, otherwise. */
  tryTake(n: number): boolean {
    if (this.rate === 0 || n <= 0) return true;
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Returns tokens taken for bytes that were never sent (capped at the burst). */
  refund(n: number): void {
    if (this.rate === 0 || n <= 0) return;
    this.refill();
    this.tokens = Math.min(this.burst(), this.tokens + n);
  }

  private burst(): number {
    return Math.max(MIN_BURST_BYTES, this.rate * BURST_SECONDS);
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    if (this.rate === 0) return;
    this.tokens = Math.min(this.burst(), this.tokens + (elapsed * this.rate) / 1000);
  }
}

function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`rate must be >= 0 bytes/s, got ${rate}`);
  return rate;
}
