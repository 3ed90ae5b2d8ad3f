/** Shared setup for PeerConnection tests: two connections, or one and a raw scripted peer, on a FakeClock. */
import type { Duplex } from 'node:stream';
import { FakeClock } from '../support/fake-clock.js';
import { lendChunks, settle, streamPair } from '../support/stream-pair.js';
import { PeerConnection } from '../../src/peer/peer-connection.js';
import type { PeerConnectionHooks } from '../../src/peer/events.js';
import type { PeerConnectionOptions } from '../../src/peer/options.js';
import { SeededRandom } from '../../src/util/random.js';
import { silentLogger } from '../../src/util/log.js';
import { bytesEqual, concatBytes, utf8 } from '../../src/util/bytes.js';
import { Framer } from '../../src/wire/framer.js';
import { decodeMessage, type Message } from '../../src/wire/messages.js';

export const INFOHASH = new Uint8Array(20).fill(0xab);
export const ID_A = utf8('-DN0100-aaaaaaaaaaaa');
export const ID_B = utf8('-DN0100-bbbbbbbbbbbb');
export const PIECE_LENGTH = 64 * 1024;

/** Deterministic data for block (index, begin, length). */
export function blockData(index: number, begin: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (index * 31 + begin + i) & 0xff;
  return out;
}

export const seedHooks: PeerConnectionHooks = {
  acceptInfohash: (ih) => bytesEqual(ih, INFOHASH),
  validateRequest: (r) => r.begin + r.length <= PIECE_LENGTH,
  readBlock: (r) => Promise.resolve(blockData(r.index, r.begin, r.length)),
};

export interface Pair {
  clock: FakeClock;
  a: PeerConnection;
  b: PeerConnection;
}

/** `a` initiates to `b`; both started, handshakes given time to cross. */
export async function connectedPair(
  opts: { a?: Partial<PeerConnectionOptions>; b?: Partial<PeerConnectionOptions>; aHooks?: PeerConnectionHooks; bHooks?: PeerConnectionHooks } = {},
): Promise<Pair> {
  const clock = new FakeClock();
  const [sa, sb] = streamPair();
  // Both ends read the way a dialled socket does: chunks are reused once the listener returns.
  lendChunks(sa);
  lendChunks(sb);
  const a = new PeerConnection(
    { clock, random: new SeededRandom(1), log: silentLogger, stream: sa, hooks: opts.aHooks ?? seedHooks },
    { role: 'initiator', peerId: ID_A, infohash: INFOHASH, pieceCount: 10, ...opts.a },
  );
  const b = new PeerConnection(
    { clock, random: new SeededRandom(2), log: silentLogger, stream: sb, hooks: opts.bHooks ?? seedHooks },
    { role: 'receiver', peerId: ID_B, pieceCount: 10, ...opts.b },
  );
  a.start();
  b.start();
  await settle();
  return { clock, a, b };
}

/** A scripted remote: raw bytes in, decoded frames out. */
export interface RawPeer {
  clock: FakeClock;
  conn: PeerConnection;
  raw: Duplex;
  /** Everything the connection sent, as raw bytes. */
  received(): Uint8Array;
  /** Messages the connection sent after its 68-byte handshake. */
  messages(): Message[];
}

export async function rawPeer(options: Partial<PeerConnectionOptions> = {}, hooks: PeerConnectionHooks = seedHooks): Promise<RawPeer> {
  const clock = new FakeClock();
  const [s, raw] = streamPair();
  lendChunks(s);
  const chunks: Uint8Array[] = [];
  raw.on('data', (c: Uint8Array) => chunks.push(c));
  const conn = new PeerConnection(
    { clock, random: new SeededRandom(3), log: silentLogger, stream: s, hooks },
    { role: 'initiator', peerId: ID_A, infohash: INFOHASH, pieceCount: 10, ...options },
  );
  conn.start();
  await settle();
  const received = (): Uint8Array => concatBytes(chunks);
  return {
    clock, conn, raw, received,
    messages: () => {
      const all = received();
      if (all.length < 68) return [];
      return new Framer().push(all.subarray(68)).map((b) => decodeMessage(b));
    },
  };
}
