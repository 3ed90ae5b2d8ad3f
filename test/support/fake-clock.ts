/**
 * A virtual clock for tests and simulations: time moves only when the test says so, and due timers run in
 * deadline order (ties in scheduling order), so whole networks replay identically.
 */
import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface Timer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();
  /** Min-heap of timers by (at, seq); cancelled ones are skipped lazily. */
  private heap: Timer[] = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { id: this.nextId++, at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.set(timer.id, timer);
    this.push(timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Number of timers still scheduled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const next = this.peek();
      if (next === undefined || next.at > target) break;
      this.pop();
      if (!this.timers.has(next.id)) continue;
      this.timers.delete(next.id);
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = target;
  }

  /** Runs due timers and lets promise callbacks settle between them, so async code can make progress. */
  async advanceAsync(ms: number, step = 10): Promise<void> {
    const target = this.time + ms;
    while (this.time < target) {
      await flushMicrotasks();
      this.advance(Math.min(step, target - this.time));
    }
    await flushMicrotasks();
  }

  private peek(): Timer | undefined {
    return this.heap[0];
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Timer, h[p] as Timer)) break;
      [h[i], h[p]] = [h[p] as Timer, h[i] as Timer];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Timer, h[m] as Timer)) m = l;
      if (r < h.length && this.less(h[r] as Timer, h[m] as Timer)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
      i = m;
    }
  }
}

/** Lets pending promise reactions run (several turns, for chains of awaits). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
