/**
 * listenTcp with `encryption` set, over real loopback sockets, with a plain PeerConnection on each end:
 * a plaintext peer, an MSE peer that offers plaintext, and one that insists on RC4 all get their blocks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { dialTcp, listenTcp, type TcpListener } from '../../src/net/tcp.js';
import type { InboundEncryption, MseStreamError } from '../../src/net/mse-stream.js';
import { PeerConnection } from '../../src/peer/peer-connection.js';
import type { ReceivedBlock } from '../../src/peer/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseInitiator } from '../../src/wire/mse.js';
import { FakeClock } from '../support/fake-clock.js';
import { blockData, ID_A, ID_B, INFOHASH, seedHooks } from '../peer/helpers.js';
import { initiate } from './mse-initiate.js';

const BLOCK = 16384;

/** Resolves when `check()` holds, polling every few ms for up to 10 s (real sockets on a busy machine). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('listenTcp with MSE', () => {
  let listener: TcpListener | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) c();
    await listener?.close();
    listener = undefined;
  });

  const serve = async () => {
    const clock = new FakeClock();
    const accepted: InboundEncryption[] = [];
    const refused: string[] = [];
    const seeders: PeerConnection[] = [];
    listener = await listenTcp(
      {
        host: '127.0.0.1',
        port: 0,
        encryption: {
          clock,
          random: new SeededRandom(21),
          infohashes: () => [INFOHASH],
          onAccepted: (e) => accepted.push(e),
          onRefused: (err: MseStreamError) => refused.push(err.code),
        },
      },
      (stream) => {
        const conn = new PeerConnection(
          { clock, random: new SeededRandom(22), log: silentLogger, stream, hooks: seedHooks },
          { role: 'receiver', peerId: ID_B, pieceCount: 10 },
        );
        conn.on('interested', () => conn.unchoke());
        conn.start();
        seeders.push(conn);
        cleanups.push(() => conn.close());
      },
    );
    return { accepted, refused, seeders, port: listener.port };
  };

  /** Dials, optionally runs MSE, then downloads four blocks of piece 1 over a PeerConnection. */
  const leech = async (port: number, provide: number | undefined): Promise<ReceivedBlock[]> => {
    const socket = await dialTcp({ clock: new SystemClock() }, { host: '127.0.0.1', port });
    cleanups.push(() => socket.destroy());
    let stream: Duplex = socket;
    if (provide !== undefined) stream = await initiate(socket, new MseInitiator({ random: new SeededRandom(23) }, { infohash: INFOHASH, provide }));
    const clock = new FakeClock();
    const conn = new PeerConnection(
      { clock, random: new SeededRandom(24), log: silentLogger, stream, hooks: seedHooks },
      { role: 'initiator', peerId: ID_A, infohash: INFOHASH, pieceCount: 10 },
    );
    cleanups.push(() => conn.close());
    const got: ReceivedBlock[] = [];
    conn.on('piece', (b) => got.push({ ...b, block: b.block.slice() }));
    let shook = false;
    conn.on('handshake', () => {
      shook = true;
    });
    conn.start();
    await until(() => shook, 'the peer handshake');
    conn.interested();
    await until(() => !conn.peerChoking, 'unchoke');
    for (let i = 0; i < 4; i++) expect(conn.request({ index: 1, begin: i * BLOCK, length: BLOCK })).toBe(true);
    await until(() => got.length === 4, 'four blocks');
    return got;
  };

  for (const [name, provide, expected] of [
    ['plaintext', undefined, 'none'],
    ['MSE offering plaintext', CRYPTO_PLAINTEXT | CRYPTO_RC4, 'mse-plaintext'],
    ['MSE insisting on RC4', CRYPTO_RC4, 'mse-rc4'],
  ] as const) {
    it(`a ${name} peer downloads blocks intact`, async () => {
      const s = await serve();
      const got = await leech(s.port, provide);
      expect(got.map((b) => b.begin)).toEqual([0, BLOCK, 2 * BLOCK, 3 * BLOCK]);
      for (const b of got) expect(Buffer.from(b.block).equals(Buffer.from(blockData(1, b.begin, BLOCK)))).toBe(true);
      expect(s.accepted).toEqual([expected]);
      expect(s.refused).toEqual([]);
      expect(s.seeders[0]?.stats().bytesUploaded).toBe(4 * BLOCK);
    });
  }

  it('refuses an MSE peer asking for another torrent, and tells why', async () => {
    const s = await serve();
    const socket = await dialTcp({ clock: new SystemClock() }, { host: '127.0.0.1', port: s.port });
    cleanups.push(() => socket.destroy());
    const outcome = await initiate(socket, new MseInitiator({ random: new SeededRandom(25) }, { infohash: new Uint8Array(20).fill(0xcd) })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    await until(() => s.refused.length === 1, 'refusal');
    expect(s.refused).toEqual(['mse_unknown_infohash']);
    expect(s.seeders).toHaveLength(0);
  });
});
