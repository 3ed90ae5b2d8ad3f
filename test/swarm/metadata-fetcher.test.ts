/**
 * BEP 9 metadata fetching over in-memory streams: honest peers serve the info dictionary with real
 * PeerConnections; liars claim another size, send a corrupt piece, or never answer.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/bencode.js';
import { PeerConnection } from '../../src/peer/peer-connection.js';
import { MetadataFetcher } from '../../src/swarm/metadata-fetcher.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from '../support/fake-clock.js';
import { streamPair } from '../support/stream-pair.js';

/** An info dictionary of about 40 KB (three metadata pieces). */
function makeInfo(): { infoBytes: Uint8Array; infoHash: Uint8Array } {
  const pieces = 2000;
  const infoBytes = encode({ length: pieces * 16384, name: 'big.bin', 'piece length': 16384, pieces: new Uint8Array(pieces * 20).fill(7) });
  return { infoBytes, infoHash: new Uint8Array(createHash('sha1').update(infoBytes).digest()) };
}

type Behaviour = 'honest' | 'wrong-size' | 'corrupt' | 'silent';

function servePeer(stream: Duplex, clock: FakeClock, infoHash: Uint8Array, infoBytes: Uint8Array, behaviour: Behaviour): PeerConnection {
  const bad = infoBytes.slice();
  bad[100] = (bad[100] as number) ^ 0xff;
  const served = behaviour === 'corrupt' ? bad : infoBytes;
  const conn = new PeerConnection(
    { clock, random: new SeededRandom(3), log: silentLogger, stream },
    { role: 'receiver', peerId: new Uint8Array(20).fill(9), infohash: infoHash, extensions: true, metadataSize: behaviour === 'wrong-size' ? infoBytes.length + 5 : infoBytes.length },
  );
  conn.on('metadata', (m) => {
    if (m.type === 'request' && behaviour !== 'silent') conn.serveMetadata(served, m.piece);
  });
  conn.start();
  return conn;
}

async function run(behaviours: Behaviour[]) {
  const clock = new FakeClock();
  const { infoBytes, infoHash } = makeInfo();
  const servers: PeerConnection[] = [];
  const fetcher = new MetadataFetcher(
    {
      clock,
      random: new SeededRandom(1),
      dial: async (peer) => {
        const [ours, theirs] = streamPair();
        servers.push(servePeer(theirs, clock, infoHash, infoBytes, behaviours[peer.port - 1]!));
        return ours;
      },
    },
    { infoHash, peerId: new Uint8Array(20).fill(1), requestTimeoutMs: 2000 },
  );
  const dropped: string[] = [];
  fetcher.on('dropped', (p) => dropped.push(`${p.port}`));
  behaviours.forEach((_, i) => fetcher.addPeer({ host: '10.0.0.1', port: i + 1 }));
  let outcome: unknown;
  const p = fetcher.fetch().then((r) => (outcome = r), (e: unknown) => (outcome = e));
  for (let i = 0; i < 300 && outcome === undefined; i++) await clock.advanceAsync(50, 50);
  await p;
  return { outcome, dropped, infoBytes, fetcher };
}

describe('MetadataFetcher', () => {
  it('assembles the info dictionary from several honest peers', async () => {
    const { outcome, fetcher } = await run(['honest', 'honest', 'honest']);
    const r = outcome as { info: { name: string; pieceCount: number }; peers: unknown[] };
    expect(r.info.name).toBe('big.bin');
    expect(r.info.pieceCount).toBe(2000);
    expect(r.peers.length).toBeGreaterThanOrEqual(1);
    expect(fetcher.stats.piecesReceived).toBeGreaterThanOrEqual(3);
  });

  it('succeeds from an honest peer despite a corrupt one, dropping the liar', async () => {
    const { outcome, dropped } = await run(['corrupt', 'honest']);
    expect((outcome as { info: { name: string } }).info.name).toBe('big.bin');
    expect(dropped).toContain('1');
  });

  it('is not misled by a size liar that speaks first', async () => {
    const { outcome } = await run(['wrong-size', 'honest']);
    expect((outcome as { info: { name: string } }).info.name).toBe('big.bin');
  });

  it('ignores a peer that lies about metadata_size and one that never answers', async () => {
    const { outcome } = await run(['silent', 'wrong-size', 'honest']);
    expect((outcome as { info: { name: string } }).info.name).toBe('big.bin');
  });
});
