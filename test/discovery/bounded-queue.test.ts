import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/discovery/bounded-queue.js';
import { flushMicrotasks } from '../support/fake-clock.js';

describe('BoundedQueue', () => {
  it('offer drops and counts items past capacity', async () => {
    const q = new BoundedQueue<number>(2);
    expect([q.offer(1), q.offer(2), q.offer(3)]).toEqual([true, true, false]);
    expect(q.dropped).toBe(1);
    expect(await q.take()).toBe(1);
    expect(q.offer(4)).toBe(true);
    expect([await q.take(), await q.take()]).toEqual([2, 4]);
  });

  it('put waits for room instead of dropping', async () => {
    const q = new BoundedQueue<number>(1);
    await q.put(1);
    let second = false;
    const p = q.put(2).then((ok) => (second = ok));
    await flushMicrotasks();
    expect(second).toBe(false);
    expect(q.size).toBe(1);
    expect(await q.take()).toBe(1);
    await p;
    expect(second).toBe(true);
    expect(await q.take()).toBe(2);
  });

  it('take waits for an item; close drains then ends and releases waiting producers', async () => {
    const q = new BoundedQueue<string>(1);
    const taken = q.take();
    q.offer('a');
    expect(await taken).toBe('a');
    q.offer('b');
    const blocked = q.put('c');
    q.close();
    expect(await blocked).toBe(false);
    expect(await q.take()).toBe('b');
    expect(await q.take()).toBeUndefined();
    expect(q.offer('d')).toBe(false);
  });

  it('take and put give up when their signal aborts', async () => {
    const q = new BoundedQueue<number>(1);
    const c = new AbortController();
    const taken = q.take(c.signal);
    c.abort();
    expect(await taken).toBeUndefined();
    q.offer(1);
    const c2 = new AbortController();
    const put = q.put(2, c2.signal);
    c2.abort();
    expect(await put).toBe(false);
    expect(q.size).toBe(1);
  });
});
