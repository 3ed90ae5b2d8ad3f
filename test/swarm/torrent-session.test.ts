import { describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { createTorrentFromMemory } from '../../src/app/create.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { TorrentSession, type TorrentSessionDeps } from '../../src/swarm/torrent-session.js';
import type { PeerEndpoint } from '../../src/swarm/peer-queue.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { silentLogger } from '../../src/util/log.js';
import { bytesEqual } from '../../src/util/bytes.js';
import { duplexPair } from './duplex-pair.js';

/** A tiny in-process "network": each session listens on a made-up port; dial makes a duplex pair. */
class MemoryNet {
  private readonly listeners = new Map<number, TorrentSession>();
  dial = async (endpoint: PeerEndpoint): Promise<Duplex> => {
    const target = this.listeners.get(endpoint.port);
    if (target === undefined) throw new Error('refused');
    const [a, b] = duplexPair();
    target.acceptInbound(b, { host: '127.0.0.1', port: 40000 });
    return a;
  };
  listen(port: number, s: TorrentSession): void {
    this.listeners.set(port, s);
  }
}

function content(n: number, seed: number): Uint8Array {
  const r = new SeededRandom(seed);
  return r.bytes(n);
}

function waitFor(s: TorrentSession, event: 'complete'): Promise<void> {
  return new Promise((resolve) => (s.isComplete() ? resolve() : s.once(event, () => resolve())));
}

describe('TorrentSession', () => {
  it('a leecher downloads a multi-piece torrent with an odd last piece from a seeder, byte-identical', async () => {
    const data = content(5 * 16384 * 4 + 1234, 1);
    const torrent = createTorrentFromMemory({}, { name: 'x.bin', data }, { pieceLength: 65536, creationDate: null });
    const info = torrent.metainfo;
    const clock = new SystemClock();
    const net = new MemoryNet();
    const mk = (seed: number, storage: MemoryStorage): TorrentSession => {
      const deps: TorrentSessionDeps = { clock, random: new SeededRandom(seed), log: silentLogger, storage, dial: net.dial };
      return new TorrentSession(deps, { info });
    };
    const seedStore = new MemoryStorage({}, { layout: info, content: data });
    const leechStore = new MemoryStorage({}, { layout: info });
    const seeder = mk(1, seedStore);
    const leecher = mk(2, leechStore);
    net.listen(1, seeder);
    await seeder.start();
    await leecher.start();
    expect(seeder.isComplete()).toBe(true);
    expect(leecher.isComplete()).toBe(false);
    leecher.addPeer({ host: '127.0.0.1', port: 1 });
    await waitFor(leecher, 'complete');
    const got = new Uint8Array(info.totalLength);
    for (let p = 0; p < info.pieceCount; p++) {
      const size = p === info.pieceCount - 1 ? info.totalLength - p * info.pieceLength : info.pieceLength;
      got.set(await leechStore.readBlock(p, 0, size), p * info.pieceLength);
    }
    expect(bytesEqual(got, data)).toBe(true);
    expect(leecher.stats().downloaded).toBeGreaterThanOrEqual(info.totalLength);
    expect(seeder.stats().uploaded).toBeGreaterThanOrEqual(info.totalLength);
    await leecher.close();
    await seeder.close();
  });

  it('resumes from verified data: only missing pieces are fetched', async () => {
    const data = content(8 * 16384, 3);
    const info = createTorrentFromMemory({}, { name: 'r.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
    const net = new MemoryNet();
    const clock = new SystemClock();
    const seeder = new TorrentSession({ clock, random: new SeededRandom(1), log: silentLogger, storage: new MemoryStorage({}, { layout: info, content: data }), dial: net.dial }, { info });
    // The leecher's store holds the first half intact and garbage in piece 5.
    const partial = data.slice();
    partial.fill(0, 0, 4 * 16384);
    partial[5 * 16384] = (partial[5 * 16384] as number) ^ 0xff;
    const store = new MemoryStorage({}, { layout: info, content: partial });
    const leecher = new TorrentSession({ clock, random: new SeededRandom(2), log: silentLogger, storage: store, dial: net.dial }, { info });
    net.listen(1, seeder);
    await seeder.start();
    await leecher.start();
    expect(leecher.progress().have).toBe(3); // pieces 4, 6, 7
    leecher.addPeer({ host: '127.0.0.1', port: 1 });
    await waitFor(leecher, 'complete');
    expect(leecher.stats().downloaded).toBe(5 * 16384);
    await leecher.close();
    await seeder.close();
  });

  it('keeps exactly one connection when two peers dial each other', async () => {
    const data = content(4 * 16384, 4);
    const info = createTorrentFromMemory({}, { name: 'd.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
    const net = new MemoryNet();
    const clock = new SystemClock();
    const a = new TorrentSession({ clock, random: new SeededRandom(1), log: silentLogger, storage: new MemoryStorage({}, { layout: info }), dial: net.dial }, { info });
    const b = new TorrentSession({ clock, random: new SeededRandom(2), log: silentLogger, storage: new MemoryStorage({}, { layout: info }), dial: net.dial }, { info });
    net.listen(1, a);
    net.listen(2, b);
    await a.start();
    await b.start();
    const handshakes: string[] = [];
    a.on('peer', () => handshakes.push('a'));
    b.on('peer', () => handshakes.push('b'));
    a.addPeer({ host: '127.0.0.1', port: 2 });
    b.addPeer({ host: '127.0.0.1', port: 1 });
    for (let i = 0; i < 50 && handshakes.length < 2; i++) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(a.stats().peers).toBe(1);
    expect(b.stats().peers).toBe(1);
    await a.close();
    await b.close();
  });

  it('a seeder that must not write (leech: false) never asks for pieces it lacks', async () => {
    const data = content(4 * 16384, 5);
    const info = createTorrentFromMemory({}, { name: 's.bin', data }, { pieceLength: 16384, creationDate: null }).metainfo;
    const net = new MemoryNet();
    const clock = new SystemClock();
    const half = data.slice();
    half.fill(0, 0, 2 * 16384);
    const full = new TorrentSession({ clock, random: new SeededRandom(1), log: silentLogger, storage: new MemoryStorage({}, { layout: info, content: data }), dial: net.dial }, { info });
    const partialSeed = new TorrentSession({ clock, random: new SeededRandom(2), log: silentLogger, storage: new MemoryStorage({}, { layout: info, content: half }), dial: net.dial }, { info, leech: false });
    net.listen(1, full);
    await full.start();
    await partialSeed.start();
    partialSeed.addPeer({ host: '127.0.0.1', port: 1 });
    await new Promise<void>((r) => partialSeed.once('peer', () => r()));
    for (let i = 0; i < 100; i++) await new Promise((r) => setImmediate(r));
    expect(partialSeed.progress().have).toBe(2);
    expect(partialSeed.stats().downloaded).toBe(0);
    await partialSeed.close();
    await full.close();
  });
});
