/**
 * A whole swarm on virtual time: one rate-limited seeder and a dozen leechers that all know each other,
 * over in-memory streams and a FakeClock. Network properties, not timings: everybody completes, the
 * seeder sends little more than one copy (rarest first spreads distinct pieces, leechers trade the rest),
 * and the same seed gives the same run.
 */
import { describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { createTorrentFromMemory } from '../../src/app/create.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { TorrentSession } from '../../src/swarm/torrent-session.js';
import type { PeerEndpoint } from '../../src/swarm/peer-queue.js';
import { bytesEqual } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../support/fake-clock.js';
import { duplexPair } from './duplex-pair.js';

const LEECHERS = 12;

async function simulate(seed: number): Promise<{ seconds: number; seederUploaded: number; uploads: number[]; identical: boolean }> {
  const data = new SeededRandom(seed).bytes(48 * 16384);
  const info = createTorrentFromMemory({}, { name: 'sim.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
  const clock = new FakeClock();
  const nodes = new Map<number, TorrentSession>();
  let nextPort = 41000;
  const dial = async (endpoint: PeerEndpoint): Promise<Duplex> => {
    const target = nodes.get(endpoint.port);
    if (target === undefined) throw new Error('refused');
    const [a, b] = duplexPair();
    target.acceptInbound(b, { host: '127.0.0.1', port: nextPort++ });
    return a;
  };
  const stores: MemoryStorage[] = [];
  const make = (port: number, s: number, content?: Uint8Array, uploadLimit = 0): TorrentSession => {
    const storage = new MemoryStorage({}, { layout: info, content });
    stores.push(storage);
    const session = new TorrentSession({ clock, random: new SeededRandom(s), log: silentLogger, storage, dial }, { info, uploadLimit, dialSpacingMs: 10, listenPort: port });
    nodes.set(port, session);
    return session;
  };
  const seeder = make(1, seed * 100, data, 32 * 1024);
  await seeder.start();
  const leechers: TorrentSession[] = [];
  for (let i = 0; i < LEECHERS; i++) {
    const l = make(10 + i, seed * 100 + 1 + i);
    await l.start();
    leechers.push(l);
  }
  for (let i = 0; i < LEECHERS; i++) {
    const l = leechers[i] as TorrentSession;
    l.addPeer({ host: '127.0.0.1', port: 1 });
    // Each leecher dials the leechers after it: every pair is connected once.
    for (let j = i + 1; j < LEECHERS; j++) l.addPeer({ host: '127.0.0.1', port: 10 + j });
  }
  let seconds = 0;
  while (!leechers.every((l) => l.isComplete()) && seconds < 600) {
    for (let step = 0; step < 10; step++) {
      clock.advance(100);
      for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
    }
    seconds++;
  }
  let identical = true;
  for (const store of stores.slice(1)) {
    for (let p = 0; p < info.pieceCount; p++) {
      if (!bytesEqual(await store.readBlock(p, 0, 16384), data.subarray(p * 16384, (p + 1) * 16384))) identical = false;
    }
  }
  const result = { seconds, seederUploaded: seeder.stats().uploaded, uploads: leechers.map((l) => l.stats().uploaded), identical };
  for (const l of leechers) await l.close();
  await seeder.close();
  return result;
}

describe('swarm simulation on virtual time', () => {
  it('12 leechers behind a 32 KiB/s seeder all complete, mostly from each other', async () => {
    const r = await simulate(1);
    const size = 48 * 16384;
    expect(r.seconds).toBeLessThan(600);
    expect(r.identical).toBe(true);
    // The seeder alone would need 12 copies (288 s at 32 KiB/s); it sent under three.
    expect(r.seederUploaded).toBeLessThan(3 * size);
    expect(r.uploads.reduce((a, b) => a + b, 0)).toBeGreaterThan(9 * size);
    // Trading is spread out, not one leecher relaying for all (a leecher that never held a seeder slot can
    // have nothing unique to offer, so not every one must upload).
    expect(r.uploads.filter((u) => u > 0).length).toBeGreaterThanOrEqual(LEECHERS / 2);
    expect(Math.max(...r.uploads)).toBeLessThan(4 * size);
    // Virtual time and seeded randomness: the same run again, to the byte.
    expect(await simulate(1)).toEqual(r);
  }, 120_000);
});
