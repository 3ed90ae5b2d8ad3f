import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, type EncodableValue } from '../../src/codec/bencode.js';
import {
  DEFAULT_INTERVAL_S,
  decodeAnnounceReply,
  MAX_INTERVAL_S,
  MAX_MESSAGE_CHARS,
  MAX_REPLY_BYTES,
  MAX_REPLY_PEERS,
  MIN_INTERVAL_FLOOR_S,
  type AnnounceReply,
} from '../../src/tracker/announce-reply.js';
import { utf8 } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

const enc = (v: EncodableValue): Uint8Array => encode(v);
const ok = (v: EncodableValue): AnnounceReply => {
  const r = decodeAnnounceReply(enc(v));
  if (r.kind !== 'ok') throw new Error(`expected ok, got failure ${r.reason}`);
  return r;
};
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
  return undefined;
};

// 10.0.0.1:6881 and 192.168.1.2:51413 in BEP 23 compact form.
const COMPACT_TWO = Uint8Array.from([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0xc8, 0xd5]);
// [2001:db8::1]:6881 in compact form (BEP 7 peers6).
const COMPACT6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1a, 0xe1]);

describe('announce reply vectors', () => {
  it('decodes a BEP 23 compact reply with counts and intervals', () => {
    const r = ok({ interval: 1800, 'min interval': 900, complete: 5, incomplete: 12, peers: COMPACT_TWO });
    expect(r).toMatchObject({ interval: 1800, minInterval: 900, complete: 5, incomplete: 12, droppedPeers: 0 });
    expect(r.peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '192.168.1.2', port: 51413 },
    ]);
  });

  it('decodes the non-compact list of dictionaries (BEP 3), ignoring peer id and unknown keys', () => {
    const r = ok({
      interval: 60,
      peers: [
        { ip: '10.0.0.1', port: 6881, 'peer id': new Uint8Array(20) },
        { ip: '2001:db8::2', port: 80, extra: 'x' },
      ],
    });
    expect(r.peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '2001:db8::2', port: 80 },
    ]);
  });

  it('adds peers6 after the IPv4 peers', () => {
    const r = ok({ interval: 60, peers: COMPACT_TWO.subarray(0, 6), peers6: COMPACT6 });
    expect(r.peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '2001:db8::1', port: 6881 },
    ]);
  });

  it('returns failure reason as a failure, whatever else the reply holds', () => {
    expect(decodeAnnounceReply(enc({ 'failure reason': 'torrent not registered', interval: 60, peers: COMPACT_TWO }))).toEqual({
      kind: 'failure',
      reason: 'torrent not registered',
    });
  });

  it('keeps the warning message and copies the tracker id', () => {
    const body = enc({ interval: 60, 'warning message': 'slow down', 'tracker id': 'abc', peers: new Uint8Array(0) });
    const r = decodeAnnounceReply(body);
    if (r.kind !== 'ok') throw new Error('expected ok');
    expect(r.warning).toBe('slow down');
    expect(r.trackerId).toEqual(utf8('abc'));
    body.fill(0);
    expect(r.trackerId).toEqual(utf8('abc'));
  });

  it('defaults a missing interval and accepts a reply without peers', () => {
    const r = ok({ complete: 0 });
    expect(r.interval).toBe(DEFAULT_INTERVAL_S);
    expect(r.minInterval).toBeUndefined();
    expect(r.peers).toEqual([]);
  });
});

describe('hostile announce replies', () => {
  it('clamps a huge interval and a zero interval to the sane range', () => {
    expect(ok({ interval: 10 ** 12, 'min interval': 10 ** 12 })).toMatchObject({ interval: MAX_INTERVAL_S, minInterval: MAX_INTERVAL_S });
    expect(ok({ interval: 0, 'min interval': 1 })).toMatchObject({ interval: MIN_INTERVAL_FLOOR_S, minInterval: MIN_INTERVAL_FLOOR_S });
  });

  it('rejects wrong types for the keys it reads', () => {
    expect(codeOf(() => decodeAnnounceReply(enc({ interval: '1800' })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ 'min interval': [1] })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ peers: 5 })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ peers6: [] })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ 'failure reason': 3 })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ 'warning message': {} })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ complete: 'many' })))).toBe('tracker_reply_type');
    expect(codeOf(() => decodeAnnounceReply(enc({ 'tracker id': 1 })))).toBe('tracker_reply_type');
  });

  it('rejects negative counts and intervals', () => {
    expect(codeOf(() => decodeAnnounceReply(enc({ interval: -5 })))).toBe('tracker_reply_range');
    expect(codeOf(() => decodeAnnounceReply(enc({ incomplete: -1 })))).toBe('tracker_reply_range');
  });

  it('rejects compact strings that are not a multiple of 6 (peers) or 18 (peers6)', () => {
    for (const n of [1, 5, 7, 13]) expect(codeOf(() => decodeAnnounceReply(enc({ peers: new Uint8Array(n) })))).toBe('compact_peers_length');
    for (const n of [6, 17, 19]) expect(codeOf(() => decodeAnnounceReply(enc({ peers6: new Uint8Array(n) })))).toBe('compact_peers_length');
  });

  it('drops port-0 compact entries and malformed dictionary entries, counting them', () => {
    const withZero = Uint8Array.from([10, 0, 0, 1, 0, 0, 10, 0, 0, 2, 0, 80]);
    expect(ok({ peers: withZero })).toMatchObject({ peers: [{ host: '10.0.0.2', port: 80 }], droppedPeers: 1 });
    const r = ok({
      peers: [
        'not a dict',
        { ip: 'tracker.example.org', port: 80 }, // a name we would have to resolve for a stranger
        { ip: '10.0.0.1', port: 0 },
        { ip: '10.0.0.1', port: 70000 },
        { ip: '10.0.0.1', port: '80' },
        { port: 80 },
        { ip: '10.0.0.3', port: 443 },
      ],
    });
    expect(r.peers).toEqual([{ host: '10.0.0.3', port: 443 }]);
    expect(r.droppedPeers).toBe(6);
  });

  it('keeps at most MAX_REPLY_PEERS peers', () => {
    const many = new Uint8Array((MAX_REPLY_PEERS + 10) * 6);
    for (let i = 0; i < MAX_REPLY_PEERS + 10; i++) many.set([10, 1, (i >> 8) & 0xff, i & 0xff, 0x1a, 0xe1], i * 6);
    const r = ok({ peers: many });
    expect(r.peers).toHaveLength(MAX_REPLY_PEERS);
    expect(r.droppedPeers).toBe(10);
  });

  it('cuts long tracker text and replaces control characters', () => {
    const r = decodeAnnounceReply(enc({ 'failure reason': 'x'.repeat(10_000) }));
    expect(r.kind === 'failure' && r.reason.length).toBe(MAX_MESSAGE_CHARS);
    const w = ok({ 'warning message': 'a\nb\u0000c' });
    expect(w.warning).toBe('a?b?c');
  });

  it('rejects truncated, trailing, non-dict, oversized and garbage bodies', () => {
    const good = enc({ interval: 60, peers: COMPACT_TWO });
    expect(codeOf(() => decodeAnnounceReply(good.subarray(0, good.length - 3)))).toBe('bencode_truncated');
    expect(codeOf(() => decodeAnnounceReply(new Uint8Array([...good, 0x65])))).toBe('bencode_trailing');
    expect(codeOf(() => decodeAnnounceReply(enc([1, 2])))).toBe('tracker_reply_not_dict');
    expect(codeOf(() => decodeAnnounceReply(utf8('<html>502 Bad Gateway</html>')))).toBe('bencode_unexpected');
    expect(codeOf(() => decodeAnnounceReply(new Uint8Array(0)))).toBe('bencode_truncated');
    expect(codeOf(() => decodeAnnounceReply(new Uint8Array(MAX_REPLY_BYTES + 1)))).toBe('tracker_reply_too_large');
    expect(codeOf(() => decodeAnnounceReply(utf8('d5:peersl' + 'l'.repeat(50) + 'e'.repeat(50) + 'ee')))).toBe('bencode_depth');
  });

  it('cannot be steered by a __proto__ key', () => {
    const r = decodeAnnounceReply(utf8('d9:__proto__d8:intervali5e5:peers0:e8:intervali120ee'));
    expect(r).toMatchObject({ kind: 'ok', interval: 120, peers: [] });
  });
});

describe('announce reply fuzz (fixed seeds)', () => {
  const onlyDecodeErrors = (bytes: Uint8Array): void => {
    try {
      decodeAnnounceReply(bytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
  };

  it('random bytes throw nothing but DecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyDecodeErrors(b)), { seed: 5, numRuns: 3000 });
  });

  it('well-formed bencode of any shape under reply keys throws nothing but DecodeError', () => {
    const leaf = fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.uint8Array({ maxLength: 40 }), fc.string({ maxLength: 20 }));
    const { value } = fc.letrec<{ value: EncodableValue }>((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('ip', 'port', 'peer id', 'x'), tie('value'), { maxKeys: 3 })),
    }));
    const key = fc.constantFrom('peers', 'peers6', 'interval', 'min interval', 'complete', 'incomplete', 'failure reason', 'warning message', 'tracker id', 'other');
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (dict) => {
        onlyDecodeErrors(enc(dict));
      }),
      { seed: 17, numRuns: 3000 },
    );
  });

  it('mutations of a valid reply throw nothing but DecodeError', () => {
    const base = enc({ interval: 1800, 'min interval': 60, complete: 1, incomplete: 2, peers: COMPACT_TWO, peers6: COMPACT6, 'tracker id': 'tid' });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(base.length), (edits, cut) => {
        const b = base.slice(0, Math.max(1, cut));
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        onlyDecodeErrors(b);
      }),
      { seed: 23, numRuns: 3000 },
    );
  });
});
