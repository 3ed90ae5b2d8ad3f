import { describe, expect, it } from 'vitest';
import { endpointKey, PeerQueue } from '../../src/swarm/peer-queue.js';

const A = { host: '10.0.0.1', port: 6881 };
const B = { host: '10.0.0.2', port: 6881 };

describe('PeerQueue', () => {
  it('deduplicates queued and active addresses, and bounds the queue', () => {
    const q = new PeerQueue({ maxQueued: 2 });
    expect(q.add(A, 0)).toBe('queued');
    expect(q.add({ ...A }, 0)).toBe('duplicate');
    expect(q.add(B, 0)).toBe('queued');
    expect(q.add({ host: '10.0.0.3', port: 1 }, 0)).toBe('full');
    expect(q.next(0)).toEqual(A);
    expect(q.add(A, 0)).toBe('duplicate'); // being dialled
    expect(q.counters).toMatchObject({ added: 2, duplicates: 2, droppedFull: 1 });
    expect(endpointKey({ host: '::1', port: 5 })).toBe('[::1]:5');
  });

  it('retries failures with exponential backoff, then gives up', () => {
    const q = new PeerQueue({ maxAttempts: 3, retryBaseMs: 1000 });
    q.add(A, 0);
    expect(q.next(0)).toEqual(A);
    q.release(A, 0, true);
    expect(q.next(999)).toBeUndefined();
    expect(q.nextDue()).toBe(1000);
    expect(q.next(1000)).toEqual(A);
    q.release(A, 1000, true);
    expect(q.nextDue()).toBe(3000);
    expect(q.next(3000)).toEqual(A);
    q.release(A, 3000, true);
    expect(q.size).toBe(0);
    expect(q.counters.givenUp).toBe(1);
  });

  it('forgives failures after a successful handshake, and forgets without retry', () => {
    const q = new PeerQueue({ maxAttempts: 2, retryBaseMs: 10 });
    q.add(A, 0);
    q.next(0);
    q.release(A, 0, true);
    q.next(10);
    q.succeeded(A);
    q.release(A, 10, true); // attempts back to 1 after success, so it is retried
    expect(q.size).toBe(1);
    q.next(100);
    q.release(A, 100, false);
    expect(q.knows(A)).toBe(false);
    q.markActive(B);
    expect(q.add(B, 0)).toBe('duplicate');
    q.forget(B);
    expect(q.knows(B)).toBe(false);
  });
});
