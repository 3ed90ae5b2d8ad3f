/** The fast response writer must produce exactly the bytes of the generic bencode encoder. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeResponseGeneric } from '../../src/krpc/messages.js';
import { writeResponse } from '../../src/krpc/response-writer.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const port = fc.integer({ min: 1, max: 65535 });
const node4 = fc.record({ id: fc.uint8Array({ minLength: 20, maxLength: 20 }), host: ipv4, port });
const node6 = fc.record({ id: fc.uint8Array({ minLength: 20, maxLength: 20 }), host: ipv6, port });

describe('writeResponse', () => {
  it('writes the same bytes as the generic encoder (fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.option(fc.array(node4, { maxLength: 16 }), { nil: undefined }),
        fc.option(fc.array(node6, { maxLength: 8 }), { nil: undefined }),
        fc.option(fc.uint8Array({ maxLength: 20 }), { nil: undefined }),
        fc.option(fc.array(fc.record({ host: fc.oneof(ipv4, ipv6), port }), { maxLength: 120 }), { nil: undefined }),
        fc.record({ host: fc.oneof(ipv4, ipv6), port }),
        fc.uint8Array({ maxLength: 8 }),
        (t, id, nodes, nodes6, token, values, requester, version) => {
          const fields = { id, nodes, nodes6, token, values };
          const fast = writeResponse(t, fields, requester, { version });
          const generic = encodeResponseGeneric(t, fields, requester, { version });
          expect(Buffer.from(fast).equals(Buffer.from(generic))).toBe(true);
        },
      ),
      { seed: 2026, numRuns: 2000 },
    );
  });

  it('copies pre-encoded compact nodes as they are', () => {
    const compact = new Uint8Array(26 * 2).fill(7);
    const out = writeResponse(new Uint8Array([1]), { id: new Uint8Array(20), nodes: compact }, { host: '1.2.3.4', port: 5 }, { version: new Uint8Array(0) });
    expect(Buffer.from(out).includes(Buffer.from(compact))).toBe(true);
  });
});
