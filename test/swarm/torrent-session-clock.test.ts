/**
 * The session on virtual time: in-memory streams and a FakeClock, so choke rounds, optimistic rotation and
 * rate limits play out the same on every run.
 */
import { describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { createTorrentFromMemory } from '../../src/app/create.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { TorrentSession, type TorrentSessionOptions } from '../../src/swarm/torrent-session.js';
import type { PeerEndpoint } from '../../src/swarm/peer-queue.js';
import type { InfoDictionary } from '../../src/codec/metainfo.js';
import { SeededRandom } from '../../src/util/random.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../support/fake-clock.js';
import { duplexPair } from './duplex-pair.js';

/** Advances virtual time in steps, letting stream callbacks and promise chains run between them. */
async function run(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }
}

function world(info: InfoDictionary, clock: FakeClock) {
  const listeners = new Map<number, TorrentSession>();
  const dial = async (endpoint: PeerEndpoint): Promise<Duplex> => {
    const target = listeners.get(endpoint.port);
    if (target === undefined) throw new Error('refused');
    const [a, b] = duplexPair();
    target.acceptInbound(b, { host: '127.0.0.1', port: 40000 });
    return a;
  };
  const make = (port: number, seed: number, content: Uint8Array | undefined, options: Partial<TorrentSessionOptions> = {}): TorrentSession => {
    const s = new TorrentSession(
      { clock, random: new SeededRandom(seed), log: silentLogger, storage: new MemoryStorage({}, { layout: info, content }), dial },
      { info, dialSpacingMs: 10, ...options },
    );
    listeners.set(port, s);
    return s;
  };
  return { make };
}

describe('TorrentSession on a fake clock', () => {
  it('a seeder holds at most 5 upload slots, and optimistic rotation reaches every leecher', async () => {
    const data = new SeededRandom(1).bytes(256 * 16384);
    const info = createTorrentFromMemory({}, { name: 'c.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
    const clock = new FakeClock();
    const { make } = world(info, clock);
    // 32 KiB/s: slow enough that nobody finishes during the test.
    // The slot-based choker is what this test is about; super-seeding (which serves everyone) has its own test.
    const seeder = make(1, 1, data, { uploadLimit: 32 * 1024, superSeed: false });
    await seeder.start();
    const leechers: TorrentSession[] = [];
    for (let i = 0; i < 7; i++) {
      const l = make(100 + i, 10 + i, undefined);
      await l.start();
      l.addPeer({ host: '127.0.0.1', port: 1 });
      leechers.push(l);
    }
    let maxUnchoked = 0;
    for (let t = 0; t < 150_000; t += 1000) {
      await run(clock, 1000);
      maxUnchoked = Math.max(maxUnchoked, seeder.stats().unchoked);
    }
    expect(seeder.stats().peers).toBe(7);
    expect(maxUnchoked).toBe(5);
    for (const l of leechers) expect(l.stats().downloaded).toBeGreaterThan(0);
    expect(leechers.every((l) => !l.isComplete())).toBe(true);
    // The upload limit holds on virtual time: at most the 1 s burst plus 32 KiB/s over 150 s.
    expect(seeder.stats().uploaded).toBeLessThanOrEqual(32 * 1024 * 151 + 16384);
    expect(seeder.stats().uploaded).toBeGreaterThan(32 * 1024 * 100);
    for (const l of leechers) await l.close();
    await seeder.close();
  }, 60_000);

  it('a leecher with an upload limit opens 8 regular slots, one without keeps 4', async () => {
    const data = new SeededRandom(5).bytes(128 * 16384);
    const info = createTorrentFromMemory({}, { name: 'l.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
    const clock = new FakeClock();
    const { make } = world(info, clock);
    // A fast seeder, so every leecher soon has pieces the others want; slow leecher uploads keep them trading.
    const seeder = make(1, 1, data);
    await seeder.start();
    const leechers: TorrentSession[] = [];
    for (let i = 0; i < 12; i++) {
      const l = make(100 + i, 10 + i, undefined, { uploadLimit: i === 0 ? 0 : 4 * 1024, downloadLimit: 16 * 1024 });
      await l.start();
      l.addPeer({ host: '127.0.0.1', port: 1 });
      for (const other of leechers) l.addPeer({ host: '127.0.0.1', port: 100 + leechers.indexOf(other) });
      leechers.push(l);
    }
    const maxUnchoked = leechers.map(() => 0);
    for (let t = 0; t < 40_000; t += 1000) {
      await run(clock, 1000);
      leechers.forEach((l, i) => (maxUnchoked[i] = Math.max(maxUnchoked[i] as number, l.stats().unchoked)));
    }
    expect(leechers.every((l) => !l.isComplete())).toBe(true);
    expect(maxUnchoked[0]).toBeLessThanOrEqual(5); // no limit: 4 regular + 1 optimistic
    expect(Math.max(...maxUnchoked.slice(1))).toBeGreaterThan(5);
    expect(Math.max(...maxUnchoked.slice(1))).toBeLessThanOrEqual(9); // 8 regular + 1 optimistic
    for (const l of leechers) await l.close();
    await seeder.close();
  }, 60_000);

  // Leechers connected only to the seeder: a piece two of them hold was uploaded twice by the seeder.
  for (const superSeed of [true, false]) {
    it(`a seeder under an upload limit with superSeed ${String(superSeed)}: ${superSeed ? 'no' : 'some'} piece sent twice while others were never sent`, async () => {
      const data = new SeededRandom(3).bytes(256 * 16384);
      const info = createTorrentFromMemory({}, { name: 's.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
      const clock = new FakeClock();
      const { make } = world(info, clock);
      const seeder = make(1, 1, data, { uploadLimit: 64 * 1024, superSeed });
      await seeder.start();
      const holders = new Array<number>(info.pieceCount).fill(0);
      const leechers: TorrentSession[] = [];
      for (let i = 0; i < 6; i++) {
        const l = make(100 + i, 20 + i, undefined);
        l.on('piece', (index) => {
          holders[index] = (holders[index] ?? 0) + 1;
        });
        await l.start();
        l.addPeer({ host: '127.0.0.1', port: 1 });
        leechers.push(l);
      }
      // 30 s at 64 KiB/s is about 120 of the 256 pieces: every piece could still have gone out once.
      await run(clock, 30_000);
      const held = holders.filter((n) => n > 0).length;
      const twice = holders.filter((n) => n > 1).length;
      expect(held).toBeGreaterThan(80);
      expect(held).toBeLessThan(info.pieceCount);
      if (superSeed) {
        expect(twice).toBe(0);
        // Every leecher is served, not only the slot holders.
        for (const l of leechers) expect(l.progress().have).toBeGreaterThan(5);
        expect(seeder.stats().unchoked).toBe(6);
      } else {
        expect(twice).toBeGreaterThan(0);
      }
      for (const l of leechers) await l.close();
      await seeder.close();
    }, 60_000);
  }

  it('a download limit paces the leecher on virtual time', async () => {
    const data = new SeededRandom(2).bytes(40 * 16384);
    const info = createTorrentFromMemory({}, { name: 'l.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
    const clock = new FakeClock();
    const { make } = world(info, clock);
    const seeder = make(1, 1, data);
    const leecher = make(2, 2, undefined, { downloadLimit: 64 * 1024 });
    await seeder.start();
    await leecher.start();
    leecher.addPeer({ host: '127.0.0.1', port: 1 });
    await run(clock, 5000);
    // 64 KiB burst + 64 KiB/s for 5 s = 384 KiB at most; 640 KiB would be there without the limit.
    expect(leecher.stats().downloaded).toBeLessThanOrEqual(6 * 64 * 1024);
    expect(leecher.stats().downloaded).toBeGreaterThan(3 * 64 * 1024);
    await run(clock, 10_000);
    expect(leecher.isComplete()).toBe(true);
    await leecher.close();
    await seeder.close();
  }, 60_000);
});
