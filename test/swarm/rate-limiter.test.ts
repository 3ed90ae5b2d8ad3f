import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/swarm/rate-limiter.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

describe('RateLimiter', () => {
  it('0 means unlimited', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 0 });
    await limiter.take(1e9);
    expect(limiter.delayFor(1e9)).toBe(0);
  });

  it('passes a burst at once, then holds callers to the rate in arrival order', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 100_000 });
    await limiter.take(100_000); // the 1 s burst
    const done: number[] = [];
    void limiter.take(50_000).then(() => done.push(1));
    void limiter.take(50_000).then(() => done.push(2));
    await flushMicrotasks();
    expect(done).toEqual([]);
    await clock.advanceAsync(499);
    expect(done).toEqual([]);
    await clock.advanceAsync(2);
    expect(done).toEqual([1]);
    await clock.advanceAsync(499);
    expect(done).toEqual([1, 2]);
  });

  it('tryTake takes only tokens that are there now, and never jumps the queue of waiting takes', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 100_000 });
    expect(limiter.tryTake(60_000)).toBe(true);
    expect(limiter.tryTake(60_000)).toBe(false); // 40,000 left: nothing taken
    expect(limiter.tryTake(40_000)).toBe(true);
    void limiter.take(10_000); // waits, and puts the bucket in debt
    await clock.advanceAsync(50); // 5,000 refilled, still in debt
    expect(limiter.tryTake(1)).toBe(false);
    expect(new RateLimiter({ clock }, { bytesPerSecond: 0 }).tryTake(1e9)).toBe(true);
  });

  it('refills over time up to the burst only', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 20_000 });
    await limiter.take(20_000);
    expect(limiter.delayFor(10_000)).toBe(500);
    clock.advance(60_000); // idle for a minute: still only one second of burst
    expect(limiter.delayFor(20_000)).toBe(0);
    expect(limiter.delayFor(30_000)).toBe(500);
  });

  it('lets a take larger than the burst through at the rate', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 16_384 });
    let done = false;
    void limiter.take(16_384 * 3).then(() => (done = true));
    await clock.advanceAsync(1_990);
    expect(done).toBe(false);
    await clock.advanceAsync(20);
    expect(done).toBe(true);
  });

  it('moves a sustained stream at the configured rate', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 64 * 1024 });
    const start = clock.now();
    let moved = 0;
    const pump = (async () => {
      for (let i = 0; i < 64; i++) {
        await limiter.take(16 * 1024);
        moved += 16 * 1024;
      }
    })();
    await clock.advanceAsync(20_000, 50);
    await pump;
    // 1 MiB at 64 KiB/s with a 64 KiB burst: 15 s
    expect(moved).toBe(1024 * 1024);
    expect(clock.now() - start).toBe(20_000);
    const finish = new RateLimiter({ clock }, { bytesPerSecond: 64 * 1024 });
    await finish.take(64 * 1024);
    expect(finish.delayFor(64 * 1024 * 15)).toBe(15_000);
  });

  it('aborts a wait', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 1000 });
    await limiter.take(16_384); // spend the burst
    const ac = new AbortController();
    const p = limiter.take(5000, ac.signal);
    expect(clock.pending).toBe(1);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
  });

  it('refunds tokens for bytes never sent, up to the burst', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 20_000 });
    void limiter.take(40_000); // 20 000 in debt: waits 1 s
    expect(limiter.delayFor(0)).toBe(1000);
    limiter.refund(20_000);
    expect(limiter.delayFor(0)).toBe(0);
    limiter.refund(1e9);
    expect(limiter.delayFor(20_000)).toBe(0);
    expect(limiter.delayFor(20_001)).toBe(1);
  });

  it('rejects a negative rate and clips tokens on a lower rate', () => {
    const clock = new FakeClock();
    expect(() => new RateLimiter({ clock }, { bytesPerSecond: -1 })).toThrow(RangeError);
    const limiter = new RateLimiter({ clock }, { bytesPerSecond: 1_000_000 });
    limiter.setRate(20_000);
    expect(limiter.bytesPerSecond).toBe(20_000);
    expect(limiter.delayFor(40_000)).toBe(1000);
  });
});
