import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { settle } from '../support/stream-pair.js';
import { ID_B, INFOHASH, rawPeer } from './helpers.js';
import type { CloseReason } from '../../src/peer/events.js';
import { encodeHandshake } from '../../src/wire/handshake.js';
import { encodeMessage } from '../../src/wire/messages.js';
import { encodeExtendedHandshake } from '../../src/wire/extension.js';
import { encodeMetadataRequest } from '../../src/wire/metadata.js';
import { MAX_METADATA_BACKLOG } from '../../src/peer/options.js';

const HANDSHAKE_FROM_B = encodeHandshake({ infohash: INFOHASH, peerId: ID_B, extensions: true });

describe('PeerConnection on hostile input', () => {
  it('random frames after the handshake either pass or close with a wire violation, never throw (fixed seed)', async () => {
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((b) => {
        const out = new Uint8Array(4 + b.length);
        new DataView(out.buffer).setUint32(0, b.length);
        out.set(b, 4);
        return out;
      }),
      fc.uint8Array({ minLength: 1, maxLength: 30 }),
      fc.constantFrom(
        encodeMessage({ type: 'unchoke' }),
        encodeMessage({ type: 'have', index: 3 }),
        encodeMessage({ type: 'bitfield', bits: new Uint8Array([0xff, 0xc0]) }),
        encodeMessage({ type: 'request', index: 1, begin: 0, length: 16384 }),
        encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_metadata: 3 } }) }),
        encodeMessage({ type: 'extended', id: 2, payload: encodeMetadataRequest(0) }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { maxLength: 12 }), async (frames) => {
        const p = await rawPeer({ role: 'initiator' });
        const closes: CloseReason[] = [];
        p.conn.on('close', (r) => closes.push(r));
        p.conn.on('metadata', (m) => {
          if (m.type === 'request') p.conn.serveMetadata(undefined, m.piece);
        });
        p.raw.write(HANDSHAKE_FROM_B);
        for (const f of frames) p.raw.write(f);
        await settle(3);
        if (p.conn.isClosed) {
          expect(closes.length).toBe(1);
          const r = closes[0] as CloseReason;
          if (r.code !== 'remote_closed' && r.code !== 'stream_closed') {
            expect(r.violation).toBe(true);
            expect(r.code).toMatch(/^(wire_|bencode_)/);
          }
        } else p.conn.close();
      }),
      { seed: 20261121, numRuns: 150 },
    );
  });

  it('leaves ut_metadata requests unanswered once a non-reading peer has a backlog', async () => {
    const info = new Uint8Array(4 * 16384).fill(7);
    const p = await rawPeer();
    p.raw.removeAllListeners('data');
    p.raw.pause();
    let served = 0;
    p.conn.on('metadata', (m) => {
      if (m.type === 'request' && p.conn.serveMetadata(info, m.piece)) served++;
    });
    const reqs: Uint8Array[] = [encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_metadata: 3 } }) })];
    for (let i = 0; i < 200; i++) reqs.push(encodeMessage({ type: 'extended', id: 2, payload: encodeMetadataRequest(i % 4) }));
    p.raw.write(Buffer.concat([HANDSHAKE_FROM_B, ...reqs]));
    await settle(10);
    expect(p.conn.isReady).toBe(true);
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(20);
    expect(p.conn.stats().metadataRequestsDropped).toBe(200 - served);
    expect(MAX_METADATA_BACKLOG).toBe(64 * 1024);
  });
});
