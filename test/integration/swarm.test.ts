/**
 * Loopback swarms of our own sessions over real TCP (port 0): many leechers trading among themselves
 * under a rate-limited seeder, and a peer that serves corrupt blocks. Real sockets run on real time; the
 * assertions are about outcomes (completion, identical bytes, who uploaded, who was banned), never timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTorrentFromMemory } from '../../src/app/create.js';
import type { InfoDictionary } from '../../src/codec/metainfo.js';
import { dialTcp, listenTcp, type TcpListener } from '../../src/net/tcp.js';
import { PeerConnection } from '../../src/peer/peer-connection.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import type { PieceStorage } from '../../src/storage/piece-storage.js';
import { Bitfield } from '../../src/swarm/bitfield.js';
import { TorrentSession, type TorrentSessionOptions } from '../../src/swarm/torrent-session.js';
import { generatePeerId } from '../../src/wire/handshake.js';
import { bytesEqual } from '../../src/util/bytes.js';
import { SystemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';

const clock = new SystemClock();
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Node {
  session: TorrentSession;
  storage: MemoryStorage;
  port: number;
}

async function startNode(info: InfoDictionary, seed: number, content: Uint8Array | undefined, options: Partial<TorrentSessionOptions> = {}): Promise<Node> {
  const storage = new MemoryStorage({}, { layout: info, content });
  let session: TorrentSession | undefined;
  const listener: TcpListener = await listenTcp({ host: '127.0.0.1', port: 0 }, (stream, remote) => {
    if (session === undefined) stream.destroy();
    else session.acceptInbound(stream, remote);
  });
  session = new TorrentSession(
    {
      clock, random: new SeededRandom(seed), log: silentLogger, storage,
      dial: (endpoint, signal) => dialTcp({ clock }, { ...endpoint, localAddress: '127.0.0.1', signal }),
    },
    { info, listenPort: listener.port, ...options },
  );
  const s = session;
  cleanups.push(async () => {
    await s.close();
    await listener.close();
  });
  await session.start();
  return { session, storage, port: listener.port };
}

function completed(s: TorrentSession): Promise<void> {
  return new Promise((resolve) => (s.isComplete() ? resolve() : s.once('complete', () => resolve())));
}

async function contentOf(storage: PieceStorage, info: InfoDictionary): Promise<Uint8Array> {
  const out = new Uint8Array(info.totalLength);
  for (let p = 0; p < info.pieceCount; p++) {
    const size = p === info.pieceCount - 1 ? info.totalLength - p * info.pieceLength : info.pieceLength;
    out.set(await storage.readBlock(p, 0, size), p * info.pieceLength);
  }
  return out;
}

describe('loopback swarm', () => {
  it('1 rate-limited seeder + 8 leechers: all complete byte-identical and every leecher uploads to others', async () => {
    const data = new SeededRandom(7).bytes(2 * 1024 * 1024 + 12_345);
    const info = createTorrentFromMemory({}, { name: 'swarm.bin', data }, { pieceLength: 32 * 1024, creationDate: null }).metainfo;
    // 256 KiB/s: the seeder alone would need ~70 s to serve eight copies, so completing in the test's
    // time needs leechers to trade.
    const seeder = await startNode(info, 1, data, { uploadLimit: 256 * 1024 });
    const leechers: Node[] = [];
    // Leechers are limited too, so no single fast one relays for all and every one has something to trade.
    for (let i = 0; i < 8; i++) leechers.push(await startNode(info, 100 + i, undefined, { uploadLimit: 256 * 1024 }));
    for (const l of leechers) {
      l.session.addPeer({ host: '127.0.0.1', port: seeder.port });
      for (const other of leechers) if (other !== l) l.session.addPeer({ host: '127.0.0.1', port: other.port });
    }
    await Promise.all(leechers.map((l) => completed(l.session)));
    for (const l of leechers) {
      expect(bytesEqual(await contentOf(l.storage, info), data)).toBe(true);
      expect(l.session.stats().uploaded).toBeGreaterThan(0);
      expect(l.session.stats().hashFailures).toBe(0);
    }
    const leecherUploads = leechers.reduce((n, l) => n + l.session.stats().uploaded, 0);
    // Most of the 8 copies came from leechers, not from the seeder.
    expect(leecherUploads).toBeGreaterThan(seeder.session.stats().uploaded);
  }, 90_000);

  it('a seeder whose read cache holds two pieces serves four leechers at once: every byte right', async () => {
    // The cache reuses a piece's buffer once every block lent from it has left through its socket. With
    // room for two pieces and four peers asking for different pieces, nearly every read reuses a buffer
    // (about 190 of them here), over real sockets; a wrong byte anywhere is a
    // hash failure or a differing file. The ordering rules themselves (release only in the write's callback,
    // reuse only after the last release) are pinned in block-server.test.ts and piece-read-cache.test.ts.
    const data = new SeededRandom(11).bytes(3 * 1024 * 1024 + 4321);
    const info = createTorrentFromMemory({}, { name: 'lent.bin', data }, { pieceLength: 64 * 1024, creationDate: null }).metainfo;
    const seeder = await startNode(info, 3, data, { readCacheBytes: 2 * 64 * 1024 });
    const leechers: Node[] = [];
    for (let i = 0; i < 4; i++) leechers.push(await startNode(info, 200 + i, undefined));
    for (const l of leechers) l.session.addPeer({ host: '127.0.0.1', port: seeder.port });
    await Promise.all(leechers.map((l) => completed(l.session)));
    for (const l of leechers) {
      expect(l.session.stats().hashFailures).toBe(0);
      expect(bytesEqual(await contentOf(l.storage, info), data)).toBe(true);
    }
    expect(seeder.session.stats().uploaded).toBeGreaterThanOrEqual(4 * info.totalLength);
  }, 60_000);

  it('a peer that sends corrupt blocks is banned and the download still completes correctly', async () => {
    const data = new SeededRandom(9).bytes(64 * 16 * 1024 + 777);
    // One block per piece: every failed piece has exactly one sender.
    const info = createTorrentFromMemory({}, { name: 'evil.bin', data }, { pieceLength: 16 * 1024, creationDate: null }).metainfo;
    const seeder = await startNode(info, 2, data, { uploadLimit: 512 * 1024 });

    // The liar: claims every piece, unchokes whoever is interested, answers every request with garbage.
    const liarRandom = new SeededRandom(3);
    const liarConns: PeerConnection[] = [];
    const liar = await listenTcp({ host: '127.0.0.1', port: 0 }, (stream) => {
      const conn = new PeerConnection(
        {
          clock, random: liarRandom, log: silentLogger, stream,
          hooks: {
            acceptInfohash: (h) => bytesEqual(h, info.infoHash),
            validateRequest: () => true,
            readBlock: async (ref) => liarRandom.bytes(ref.length),
          },
        },
        { role: 'receiver', peerId: generatePeerId(liarRandom), pieceCount: info.pieceCount },
      );
      conn.on('handshake', () => conn.bitfield(Bitfield.full(info.pieceCount).toBytes()));
      conn.on('interested', () => conn.unchoke());
      liarConns.push(conn);
      conn.start();
    });
    cleanups.push(async () => {
      for (const c of liarConns) c.close();
      await liar.close();
    });

    const leecher = await startNode(info, 4, undefined);
    const banned: Array<{ port: number | undefined }> = [];
    leecher.session.on('banned', (who) => banned.push({ port: who.port }));
    leecher.session.addPeer({ host: '127.0.0.1', port: liar.port });
    leecher.session.addPeer({ host: '127.0.0.1', port: seeder.port });
    await completed(leecher.session);

    expect(bytesEqual(await contentOf(leecher.storage, info), data)).toBe(true);
    const stats = leecher.session.stats();
    expect(stats.hashFailures).toBeGreaterThan(0);
    expect(stats.bans).toBeGreaterThanOrEqual(1);
    expect(banned.map((b) => b.port)).toContain(liar.port);
    expect(banned.map((b) => b.port)).not.toContain(seeder.port);
    // Banned for the session: a new address offer is refused.
    expect(leecher.session.addPeer({ host: '127.0.0.1', port: liar.port })).toBe(false);
  }, 60_000);
});
