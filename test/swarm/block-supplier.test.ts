import { describe, expect, it } from 'vitest';
import { createTorrentFromMemory } from '../../src/app/create.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { BlockSupplier } from '../../src/swarm/block-supplier.js';
import { RateLimiter } from '../../src/swarm/rate-limiter.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

const P = 32 * 1024;
const B = 16384;

async function setup(bytesPerSecond: number) {
  const data = new SeededRandom(6).bytes(2 * P);
  const info = createTorrentFromMemory({}, { name: 'b.bin', data }, { pieceLength: P, creationDate: null }).metainfo;
  const storage = new MemoryStorage({}, { layout: info, content: data });
  await storage.checkExisting();
  const clock = new FakeClock();
  const limiter = new RateLimiter({ clock }, { bytesPerSecond });
  const supplier = new BlockSupplier({ storage, pieceSize: () => P, limiter, signal: new AbortController().signal });
  return { data, clock, limiter, supplier };
}

describe('BlockSupplier', () => {
  it('gives a cached block synchronously when tokens are at hand, a promise when the piece must be read', async () => {
    const { data, supplier } = await setup(0);
    const peer = { isClosed: false, amChoking: false };
    let sent = 0;
    const first = supplier.block(peer, { index: 1, begin: 0, length: B }, () => sent++);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(data.subarray(P, P + B));
    const second = supplier.block(peer, { index: 1, begin: B, length: B }, () => sent++);
    expect(second).toEqual(data.subarray(P + B, 2 * P));
    expect(sent).toBe(2);
  });

  it('waits for tokens, and gives them back (sending nothing) to a peer choked meanwhile', async () => {
    const { clock, limiter, supplier } = await setup(B); // burst: one block
    const peer = { isClosed: false, amChoking: false };
    let sent = 0;
    expect(await supplier.block(peer, { index: 0, begin: 0, length: B }, () => sent++)).toBeDefined();
    const waiting = supplier.block(peer, { index: 0, begin: B, length: B }, () => sent++);
    expect(waiting).toBeInstanceOf(Promise);
    peer.amChoking = true;
    await clock.advanceAsync(1000);
    await flushMicrotasks();
    expect(await waiting).toBeUndefined();
    expect(sent).toBe(1);
    expect(limiter.delayFor(B)).toBe(0); // the refunded tokens are there for the next peer
  });
});
