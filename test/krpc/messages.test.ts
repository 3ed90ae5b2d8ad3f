import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeError, encodeQuery, encodeResponse, KrpcDecodeError, QUERY_SCHEMA } from '../../src/krpc/messages.js';
import { fromUtf8, utf8 } from '../../src/util/bytes.js';
import { encode } from '../../src/codec/bencode.js';

const b = (s: string): Uint8Array => utf8(s);
const ID = 'abcdefghij0123456789';
const ctx = { version: utf8('DN01') };

function decodeError(s: string | Uint8Array): KrpcDecodeError {
  try {
    decodeMessage(typeof s === 'string' ? b(s) : s);
  } catch (err) {
    expect(err).toBeInstanceOf(KrpcDecodeError);
    return err as KrpcDecodeError;
  }
  throw new Error('expected a decode error');
}

describe('KRPC decode: BEP 5 examples', () => {
  it('ping query and response', () => {
    const q = decodeMessage(b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'));
    expect(q.kind).toBe('query');
    if (q.kind === 'query') {
      expect(q.method).toBe('ping');
      expect(fromUtf8(q.id)).toBe(ID);
      expect(fromUtf8(q.t)).toBe('aa');
      expect(q.readOnly).toBe(false);
    }
    const r = decodeMessage(b('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re'));
    expect(r.kind).toBe('response');
    if (r.kind === 'response') expect(fromUtf8(r.body.id)).toBe('mnopqrstuvwxyz123456');
  });

  it('find_node query', () => {
    const q = decodeMessage(b('d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe'));
    expect(q.kind === 'query' && q.method === 'find_node' && fromUtf8(q.target)).toBe('mnopqrstuvwxyz123456');
  });

  it('get_peers query and a response with values', () => {
    const q = decodeMessage(b('d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe'));
    expect(q.kind === 'query' && q.method === 'get_peers').toBe(true);
    const r = decodeMessage(b('d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re'));
    expect(r.kind).toBe('response');
    if (r.kind === 'response') {
      expect(fromUtf8(r.body.token!)).toBe('aoeusnth');
      expect(r.body.values).toEqual([
        { host: '97.120.106.101', port: 11893 },
        { host: '105.100.104.116', port: 28269 },
      ]);
    }
  });

  it('announce_peer query with implied_port', () => {
    const q = decodeMessage(
      b('d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe'),
    );
    expect(q.kind === 'query' && q.method === 'announce_peer').toBe(true);
    if (q.kind === 'query' && q.method === 'announce_peer') {
      expect(q.impliedPort).toBe(true);
      expect(q.port).toBe(6881);
      expect(fromUtf8(q.token)).toBe('aoeusnth');
    }
  });

  it('error message', () => {
    const e = decodeMessage(b('d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee'));
    expect(e).toMatchObject({ kind: 'error', code: 201, message: 'A Generic Error Ocurred' });
  });

  it('reads BEP 42 ip, BEP 43 ro and BEP 32 want', () => {
    const r = decodeMessage(encode({ t: 'aa', y: 'r', ip: new Uint8Array([1, 2, 3, 4, 0x1a, 0xe1]), r: { id: ID } }));
    expect(r.kind === 'response' && r.ip).toEqual({ host: '1.2.3.4', port: 6881 });
    const q = decodeMessage(encode({ t: 'aa', y: 'q', q: 'find_node', ro: 1, a: { id: ID, target: ID, want: ['n4', 'n6'] } }));
    expect(q.kind === 'query' && q.readOnly).toBe(true);
    expect(q.kind === 'query' && q.want).toEqual({ v4: true, v6: true });
  });
});

describe('KRPC decode: hostile input', () => {
  it('gives 203 reasons for malformed queries with a readable transaction id', () => {
    const short = decodeError('d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe');
    expect(short.isQuery).toBe(true);
    expect(fromUtf8(short.t!)).toBe('aa');
    expect(short.message).toMatch(/"id" must be 20 bytes/);
    const noTarget = decodeError('d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe');
    expect(noTarget.message).toMatch(/missing "target"/);
    const badPort = decodeError(encode({ t: 'aa', y: 'q', q: 'announce_peer', a: { id: ID, info_hash: ID, port: 70000, token: 'x' } }));
    expect(badPort.message).toMatch(/port/);
    const portZero = decodeError(encode({ t: 'aa', y: 'q', q: 'announce_peer', a: { id: ID, info_hash: ID, port: 0, token: 'x' } }));
    expect(portZero.message).toMatch(/port/);
  });

  it('rejects broken framing without a transaction id', () => {
    expect(decodeError('le').code).toBe('krpc_not_dict');
    expect(decodeError('d1:y1:qe').code).toBe('krpc_bad_transaction');
    expect(decodeError('d1:t2:aa1:y1:xe').code).toBe('krpc_bad_type');
    expect(decodeError('d1:t2:aa').t).toBeUndefined();
  });

  it('rejects node lists that are not a multiple of 26 bytes', () => {
    const bad = encode({ t: 'aa', y: 'r', r: { id: ID, nodes: new Uint8Array(27) } });
    expect(decodeError(bad).code).toBe('krpc_bad_compact');
  });

  it('treats unknown methods with a target like find_node and others as unknown', () => {
    const withTarget = decodeMessage(encode({ t: 'aa', y: 'q', q: 'sample_infohashes', a: { id: ID, target: ID } }));
    expect(withTarget.kind === 'query' && withTarget.method === 'unknown' && withTarget.target !== undefined).toBe(true);
    const bare = decodeMessage(encode({ t: 'aa', y: 'q', q: 'vote', a: { id: ID } }));
    expect(bare.kind === 'query' && bare.method === 'unknown' && bare.target === undefined).toBe(true);
  });

  it('copies ids out of the datagram', () => {
    const datagram = b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe');
    const q = decodeMessage(datagram);
    expect(q.kind === 'query' && q.id.buffer).not.toBe(datagram.buffer);
  });

  it('never throws anything but KrpcDecodeError (fixed seed)', () => {
    const method = fc.constantFrom(...Object.keys(QUERY_SCHEMA), 'x');
    const anyValue = fc.oneof(fc.uint8Array({ maxLength: 30 }), fc.integer(), fc.constant(ID));
    const msg = fc.record({
      t: fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.integer()),
      y: fc.constantFrom('q', 'r', 'e', 'z'),
      q: method,
      a: fc.dictionary(fc.constantFrom('id', 'target', 'info_hash', 'port', 'token', 'implied_port', 'want'), anyValue),
      r: fc.dictionary(fc.constantFrom('id', 'nodes', 'nodes6', 'values', 'token'), fc.oneof(anyValue, fc.array(anyValue, { maxLength: 3 }))),
      e: fc.array(anyValue, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(msg, (m) => {
        try {
          decodeMessage(encode(m));
        } catch (err) {
          expect(err).toBeInstanceOf(KrpcDecodeError);
        }
      }),
      { seed: 5, numRuns: 3000 },
    );
  });
});

describe('KRPC encode', () => {
  it('round-trips queries, responses and errors', () => {
    const t = new Uint8Array([1, 2]);
    const id = b(ID);
    const q = decodeMessage(encodeQuery(t, id, { method: 'announce_peer', infoHash: id, port: 6881, impliedPort: false, token: b('tok') }, ctx, true));
    expect(q).toMatchObject({ kind: 'query', method: 'announce_peer', port: 6881, impliedPort: false, readOnly: true });
    const nodes = [{ id, host: '10.0.0.1', port: 6881 }];
    const r = decodeMessage(encodeResponse(t, { id, nodes, token: b('tk'), values: [{ host: '1.2.3.4', port: 80 }] }, { host: '5.6.7.8', port: 9 }, ctx));
    expect(r.kind === 'response' && r.body.nodes).toEqual(nodes);
    expect(r.kind === 'response' && r.ip).toEqual({ host: '5.6.7.8', port: 9 });
    expect(r.kind === 'response' && r.body.values).toEqual([{ host: '1.2.3.4', port: 80 }]);
    const e = decodeMessage(encodeError(t, 204, 'method unknown', undefined, ctx));
    expect(e).toMatchObject({ kind: 'error', code: 204, message: 'method unknown' });
  });
});
