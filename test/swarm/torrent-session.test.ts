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
});
