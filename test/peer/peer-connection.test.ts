import { describe, expect, it } from 'vitest';
import { settle } from '../support/stream-pair.js';
import { blockData, connectedPair, ID_A, ID_B, INFOHASH, rawPeer, seedHooks } from './helpers.js';
import type { CloseReason, ReceivedBlock } from '../../src/peer/events.js';
import type { BlockRef } from '../../src/wire/messages.js';
import { encodeHandshake } from '../../src/wire/handshake.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { encodeExtendedHandshake } from '../../src/wire/extension.js';
import { encodeMetadataData, type MetadataMessage } from '../../src/wire/metadata.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

const hex = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, '')) as Uint8Array;
const HANDSHAKE_FROM_B = encodeHandshake({ infohash: INFOHASH, peerId: ID_B, extensions: true });

function closes(conn: { on(e: 'close', l: (r: CloseReason) => void): unknown }): CloseReason[] {
  const out: CloseReason[] = [];
  conn.on('close', (r) => out.push(r));
  return out;
}

describe('PeerConnection handshake', () => {
  it('completes in both directions and exchanges BEP 10 handshakes', async () => {
    const { a, b } = await connectedPair({ a: { metadataSize: 1234, listenPort: 6881 } });
    expect(a.isReady && b.isReady).toBe(true);
    expect(toHex(b.infohash ?? new Uint8Array())).toBe(toHex(INFOHASH));
    expect(toHex(a.remote?.peerId ?? new Uint8Array())).toBe(toHex(ID_B));
    expect(toHex(b.remote?.peerId ?? new Uint8Array())).toBe(toHex(ID_A));
    expect(b.peerExtended?.metadataSize).toBe(1234);
    expect(b.peerExtended?.p).toBe(6881);
    expect(b.peerExtended?.reqq).toBe(500);
    expect(a.extensions.idForOutgoing('ut_metadata')).toBe(2);
    expect(a.amChoking && a.peerChoking && !a.amInterested && !a.peerInterested).toBe(true);
  });

  it('sends our DHT port (BEP 5) to a peer that set the DHT bit', async () => {
    const ports: number[] = [];
    const { a, b } = await connectedPair({ a: { dhtPort: 6881 }, b: { dhtPort: 7000 } });
    expect(a.remote?.dht && b.remote?.dht).toBe(true);
    b.on('port', (p) => ports.push(p));
    a.sendPort(6882);
    await settle();
    expect(ports).toEqual([6882]);
    const p = await rawPeer({ dhtPort: 6881 });
    p.raw.write(encodeHandshake({ infohash: INFOHASH, peerId: ID_B, dht: true }));
    await settle();
    expect(p.messages().filter((m) => m.type === 'port')).toEqual([{ type: 'port', port: 6881 }]);
  });

  it('receiver refuses an infohash it does not serve', async () => {
    const { a, b } = await connectedPair({ bHooks: { acceptInfohash: () => false } });
    expect(b.isClosed).toBe(true);
    expect(a.isClosed).toBe(true);
  });

  it('initiator closes on an infohash mismatch', async () => {
    const p = await rawPeer();
    const c = closes(p.conn);
    p.raw.write(encodeHandshake({ infohash: new Uint8Array(20).fill(1), peerId: ID_B }));
    await settle();
    expect(c[0]?.code).toBe('infohash_mismatch');
    expect(c[0]?.violation).toBe(false);
  });

  it('closes a connection to ourselves', async () => {
    const p = await rawPeer();
    const c = closes(p.conn);
    p.raw.write(encodeHandshake({ infohash: INFOHASH, peerId: ID_A }));
    await settle();
    expect(c[0]?.code).toBe('self_connection');
  });

  it('drops a peer speaking another protocol (or MSE) at the first bytes, without a violation', async () => {
    const p = await rawPeer();
    const c = closes(p.conn);
    p.raw.write(utf8('GET / HTTP/1.1\r\n'));
    await settle();
    // Not a violation: clients that try an encrypted handshake first (MSE/PE) retry in plaintext.
    expect(c[0]).toMatchObject({ code: 'wire_bad_protocol', violation: false });
  });

  it('times out a missing handshake', async () => {
    const p = await rawPeer();
    const c = closes(p.conn);
    p.clock.advance(29_000);
    expect(c).toEqual([]);
    p.clock.advance(2_000);
    expect(c[0]?.code).toBe('handshake_timeout');
  });

  it('accepts the handshake split byte by byte, followed by frames in the same chunk', async () => {
    const p = await rawPeer();
    const haves: number[] = [];
    p.conn.on('have', (i) => haves.push(i));
    const bytes = HANDSHAKE_FROM_B;
    for (let i = 0; i < bytes.length - 1; i++) p.raw.write(bytes.subarray(i, i + 1));
    p.raw.write(Buffer.concat([bytes.subarray(bytes.length - 1), encodeMessage({ type: 'have', index: 3 })]));
    await settle(20);
    expect(p.conn.isReady).toBe(true);
    expect(haves).toEqual([3]);
  });
});

describe('PeerConnection block exchange', () => {
  it('requests and receives blocks; the seeder serves through readBlock', async () => {
    const { a, b, clock } = await connectedPair();
    const got: ReceivedBlock[] = [];
    a.on('piece', (blk) => got.push({ ...blk, block: blk.block.slice() }));
    a.interested();
    await settle();
    expect(b.peerInterested).toBe(true);
    expect(a.request({ index: 0, begin: 0, length: 16384 })).toBe(false); // still choked
    b.unchoke();
    await settle();
    expect(a.peerChoking).toBe(false);
    expect(a.freeSlots).toBe(4);
    for (let i = 0; i < 4; i++) expect(a.request({ index: 1, begin: i * 16384, length: 16384 })).toBe(true);
    expect(a.request({ index: 2, begin: 0, length: 16384 })).toBe(false); // pipeline full at min depth
    await settle(20);
    expect(got.map((g) => g.begin)).toEqual([0, 16384, 32768, 49152]);
    expect(toHex(got[2]?.block ?? new Uint8Array())).toBe(toHex(blockData(1, 32768, 16384)));
    expect(got.every((g) => !g.late)).toBe(true);
    clock.advance(1000);
    expect(a.stats().bytesDownloaded).toBe(65536);
    expect(b.stats().bytesUploaded).toBe(65536);
    expect(a.downloadRate()).toBeGreaterThan(0);
    expect(b.uploadRate()).toBeGreaterThan(0);
  });

  it('offers free slots in runs of an eighth of the depth, while request() takes any room left', async () => {
    const { a, b } = await connectedPair({ a: { minPipelineDepth: 16 } });
    a.interested();
    b.unchoke();
    await settle();
    expect(a.freeSlots).toBe(16);
    for (let i = 0; i < 15; i++) expect(a.request({ index: 1, begin: i * 1024, length: 1024 })).toBe(true);
    expect(a.freeSlots).toBe(0); // 1 free, below 16/8
    expect(a.request({ index: 1, begin: 15 * 1024, length: 1024 })).toBe(true);
    expect(a.request({ index: 2, begin: 0, length: 1024 })).toBe(false); // full
  });

  it('grows the pipeline depth with the measured rate, up to the cap', async () => {
    // The seeder's link is simulated by releasing `perSecond` block reads each virtual second.
    const pending: (() => void)[] = [];
    const { a, b, clock } = await connectedPair({
      a: { pieceCount: 100_000 },
      b: { pieceCount: 100_000 },
      bHooks: {
        ...seedHooks,
        readBlock: (r) => new Promise((res) => pending.push(() => res(blockData(r.index, r.begin, r.length)))),
      },
    });
    b.unchoke();
    await settle();
    let next = 0;
    const fill = (): void => {
      while (a.request({ index: Math.floor(next / 4), begin: (next % 4) * 16384, length: 16384 })) next++;
    };
    a.on('slots', fill);
    fill();
    const run = async (seconds: number, perSecond: number): Promise<number[]> => {
      const depths: number[] = [];
      for (let s = 0; s < seconds; s++) {
        for (let i = 0; i < perSecond; i++) {
          pending.shift()?.();
          await settle(5);
        }
        clock.advance(1000);
        depths.push(a.pipelineDepth);
      }
      return depths;
    };
    expect(a.pipelineDepth).toBe(4);
    // 20 blocks/s = 320 KiB/s: 3 s of queue is 60 blocks.
    const slow = await run(6, 20);
    expect(slow[slow.length - 1]).toBe(60);
    expect(slow).toEqual([...slow].sort((x, y) => x - y));
    // 120 blocks/s would want 360: clamped to 250.
    const fast = await run(6, 120);
    expect(fast[fast.length - 1]).toBe(250);
    expect(a.isReady).toBe(true);
  });

  it('times out a request that gets no answer, and still takes the late block', async () => {
    let release: ((d: Uint8Array) => void) | undefined;
    const { a, b, clock } = await connectedPair({
      bHooks: { ...seedHooks, readBlock: () => new Promise((r) => (release = r)) },
    });
    b.unchoke();
    await settle();
    const timeouts: BlockRef[] = [];
    const pieces: ReceivedBlock[] = [];
    a.on('request-timeout', (r) => timeouts.push(r));
    a.on('piece', (p) => pieces.push(p));
    a.request({ index: 0, begin: 0, length: 16384 });
    await settle();
    clock.advance(59_000);
    expect(timeouts).toEqual([]);
    clock.advance(2_000);
    expect(timeouts).toEqual([{ index: 0, begin: 0, length: 16384 }]);
    expect(a.outstanding()).toEqual([]);
    expect(a.snubbed).toBe(true); // 60 s unchoked with a request out and no block
    release?.(blockData(0, 0, 16384));
    await settle();
    expect(pieces.length).toBe(1);
    expect(pieces[0]?.late).toBe(true);
    expect(a.snubbed).toBe(false);
  });

  it('marks a peer snubbed and drops its depth to one', async () => {
    const { a, b, clock } = await connectedPair({
      a: { requestTimeoutMs: 600_000 },
      bHooks: { ...seedHooks, readBlock: () => new Promise(() => undefined) },
    });
    b.unchoke();
    await settle();
    let snubbed = 0;
    a.on('snubbed', () => snubbed++);
    a.request({ index: 0, begin: 0, length: 16384 });
    clock.advance(59_000);
    expect(snubbed).toBe(0);
    clock.advance(2_000);
    expect(snubbed).toBe(1);
    expect(a.pipelineDepth).toBe(1);
    expect(a.freeSlots).toBe(0);
  });

  it('a choke discards our outstanding requests', async () => {
    const { a, b } = await connectedPair({ bHooks: { ...seedHooks, readBlock: () => new Promise(() => undefined) } });
    b.unchoke();
    await settle();
    a.request({ index: 0, begin: 0, length: 16384 });
    a.request({ index: 0, begin: 16384, length: 16384 });
    const dropped: (readonly BlockRef[])[] = [];
    a.on('choke', (d) => dropped.push(d));
    b.choke();
    await settle();
    expect(dropped[0]?.length).toBe(2);
    expect(a.outstanding()).toEqual([]);
    expect(a.peerChoking).toBe(true);
  });

  it('refuses invalid requests, bounds the queue, honours cancels, ignores requests while choked', async () => {
    const served: BlockRef[] = [];
    const gate: (() => void)[] = [];
    const p = await rawPeer(
      { role: 'initiator', maxIncomingRequests: 3 },
      {
        ...seedHooks,
        readBlock: (r) => {
          served.push(r);
          return new Promise((res) => gate.push(() => res(blockData(r.index, r.begin, r.length))));
        },
      },
    );
    p.raw.write(HANDSHAKE_FROM_B);
    await settle();
    const req = (index: number, begin: number): Uint8Array => encodeMessage({ type: 'request', index, begin, length: 16384 });
    p.raw.write(req(0, 0)); // choked: dropped
    await settle();
    expect(p.conn.stats().requestsWhileChoked).toBe(1);
    p.conn.unchoke();
    p.raw.write(Buffer.concat([req(0, 0), req(0, 16384), req(0, 32768), req(0, 49152), req(0, 65536), req(1, 0)]));
    await settle();
    // Serving starts after the chunk is parsed: (0,0), (0,16384), (0,32768) fill the queue of 3, (0,49152)
    // and (1,0) find it full, (0,65536) is outside the piece; then (0,0) is taken out to be read.
    expect(p.conn.stats().requestsRefused).toBe(1);
    expect(p.conn.stats().requestsDroppedFull).toBe(2);
    expect(p.conn.stats().requestsQueued).toBe(2);
    p.raw.write(encodeMessage({ type: 'cancel', index: 0, begin: 32768, length: 16384 }));
    await settle();
    expect(p.conn.stats().requestsQueued).toBe(1);
    for (let i = 0; i < 5; i++) {
      gate.shift()?.();
      await settle();
    }
    expect(served.map((r) => r.begin)).toEqual([0, 16384]);
    const pieces = p.messages().filter((m) => m.type === 'piece');
    expect(pieces.length).toBe(2);
  });

  it('stops reading blocks while the stream is backed up, and resumes on drain', async () => {
    let reads = 0;
    const p = await rawPeer({}, { ...seedHooks, readBlock: (r) => (reads++, Promise.resolve(blockData(r.index, r.begin, r.length))) });
    p.raw.removeAllListeners('data');
    p.raw.pause();
    p.raw.write(HANDSHAKE_FROM_B);
    await settle();
    p.conn.unchoke();
    const reqs: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) for (let j = 0; j < 4; j++) reqs.push(encodeMessage({ type: 'request', index: i, begin: j * 16384, length: 16384 }));
    p.raw.write(Buffer.concat(reqs));
    await settle(30);
    expect(reads).toBeLessThan(40);
    expect(p.conn.stats().requestsQueued).toBeGreaterThan(0);
    p.raw.resume();
    await settle(60);
    expect(reads).toBe(40);
    expect(p.conn.stats().requestsQueued).toBe(0);
  });
});

describe('PeerConnection timers', () => {
  it('sends keep-alives when idle and stays open while the peer does too', async () => {
    const { a, b, clock } = await connectedPair();
    for (let s = 0; s < 300; s++) {
      clock.advance(1000);
      if (s % 10 === 0) await settle();
    }
    await settle();
    expect(a.stats().keepAlivesSent).toBeGreaterThanOrEqual(2);
    expect(b.stats().keepAlivesSent).toBeGreaterThanOrEqual(2);
    expect(a.isClosed || b.isClosed).toBe(false);
  });

  it('closes a connection on which nothing arrives for the idle timeout', async () => {
    const p = await rawPeer();
    p.raw.write(HANDSHAKE_FROM_B);
    await settle();
    const c = closes(p.conn);
    p.clock.advance(239_000);
    expect(c).toEqual([]);
    // Keep-alive was sent at 120 s (writes of one turn leave together, on the next tick).
    await settle();
    expect(p.messages().filter((m) => m.type === 'keep-alive').length).toBe(1);
    p.clock.advance(2_000);
    expect(c[0]).toMatchObject({ code: 'idle_timeout', violation: false });
  });
});

describe('PeerConnection violations', () => {
  const cases: [string, Uint8Array, string][] = [
    ['a 6-byte have', hex('00000006 04 00000001 00'), 'wire_bad_length'],
    ['a 12-byte request', hex('0000000c 06 00000001 00000000 000040'), 'wire_bad_length'],
    ['an oversized length prefix', hex('7fffffff'), 'wire_frame_too_large'],
    ['bitfield spare bits', hex('00000003 05 ffe0'), 'wire_spare_bits'],
    ['a short bitfield', hex('00000002 05 ff'), 'wire_bad_length'],
    ['a have beyond the piece count', hex('00000005 04 0000000a'), 'wire_index_out_of_range'],
    ['a late bitfield', hex('00000001 01 00000003 05 ffc0'.replace('ffc0', 'ff00')), 'wire_late_bitfield'],
    ['a broken extended handshake', hex('00000003 14 00 6c'), 'bencode_truncated'],
  ];
  it.each(cases)('closes on %s with a reason and a violation', async (_name, bytes, code) => {
    const p = await rawPeer();
    const c = closes(p.conn);
    const v: string[] = [];
    p.conn.on('violation', (vc) => v.push(vc));
    p.raw.write(HANDSHAKE_FROM_B);
    await settle();
    p.raw.write(bytes);
    await settle();
    expect(c[0]).toMatchObject({ code, violation: true });
    expect(v).toEqual([code]);
  });

  it('closes when a block does not match the requested length', async () => {
    const p = await rawPeer();
    const c = closes(p.conn);
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, encodeMessage({ type: 'unchoke' })]));
    await settle();
    expect(p.conn.request({ index: 0, begin: 0, length: 16384 })).toBe(true);
    p.raw.write(encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(100) }));
    await settle();
    expect(c[0]).toMatchObject({ code: 'wire_block_mismatch', violation: true });
    expect(c[0]?.outstanding).toEqual([]);
  });

  it('ignores unsolicited blocks and unknown message ids without closing', async () => {
    const p = await rawPeer();
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(10) }), hex('00000001 0e')]));
    await settle();
    expect(p.conn.isReady).toBe(true);
    expect(p.conn.stats().unsolicitedBlocks).toBe(1);
    expect(p.conn.stats().ignoredMessages).toBe(1);
  });

  it('a listener throwing DecodeError (e.g. the metadata assembler) counts as a violation', async () => {
    const p = await rawPeer();
    p.conn.on('metadata', () => {
      throw new DecodeError('wire_metadata_size', 'lie');
    });
    const c = closes(p.conn);
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, encodeMessage({ type: 'extended', id: 2, payload: encodeMetadataData(0, 3, utf8('abc')) })]));
    await settle();
    expect(c[0]).toMatchObject({ code: 'wire_metadata_size', violation: true });
  });
});

describe('PeerConnection before metadata', () => {
  it('keeps the bitfield and haves until the piece count is known, then validates them', async () => {
    const p = await rawPeer({ pieceCount: undefined });
    const fields: number[] = [];
    p.conn.on('bitfield', (bf) => fields.push(bf.count));
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, hex('00000003 05 f000'), encodeMessage({ type: 'have', index: 9 })]));
    await settle();
    expect(p.conn.peerBitfield).toBeUndefined();
    p.conn.setPieceCount(10);
    expect(fields).toEqual([5]);
    expect(p.conn.peerBitfield?.has(9)).toBe(true);
    expect(p.conn.peerBitfield?.has(4)).toBe(false);
  });

  it('a bitfield that contradicts the piece count learned later is a violation', async () => {
    const p = await rawPeer({ pieceCount: undefined });
    const c = closes(p.conn);
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, hex('00000003 05 ffff')]));
    await settle();
    p.conn.setPieceCount(10);
    expect(c[0]).toMatchObject({ code: 'wire_spare_bits', violation: true });
  });

  it('fetches metadata over ut_metadata', async () => {
    const info = utf8('d4:name3:abce');
    const { a, b } = await connectedPair({ a: { pieceCount: undefined }, b: { metadataSize: info.length } });
    b.on('metadata', (m) => {
      if (m.type === 'request') b.serveMetadata(info, m.piece);
    });
    const got: MetadataMessage[] = [];
    a.on('metadata', (m) => got.push(m));
    expect(a.peerExtended?.metadataSize).toBe(info.length);
    expect(a.requestMetadata(0)).toBe(true);
    expect(a.requestMetadata(1)).toBe(true);
    await settle();
    // Read after the event: the data must be the connection's own copy, as connectedPair reuses its read
    // buffers (lendChunks) and a view of one would now read 0xee.
    const seen = got.map((m) => (m.type === 'data' ? `data:${m.totalSize}:${Buffer.from(m.data).toString()}` : m.type));
    expect(seen).toEqual([`data:${info.length}:d4:name3:abce`, 'reject']);
  });

  it('requestMetadata is refused when the peer lacks ut_metadata', async () => {
    const p = await rawPeer();
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_pex: 1 } }) })]));
    await settle();
    expect(p.conn.requestMetadata(0)).toBe(false);
    expect(p.conn.peerExtended?.m.get('ut_pex')).toBe(1);
  });
});
