import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkBitfield,
  decodeMessage,
  encodeMessage,
  encodePieceHeader,
  MAX_BLOCK_LENGTH,
  MAX_EXTENDED_PAYLOAD,
  type Message,
} from '../../src/wire/messages.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

const hex = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, '')) as Uint8Array;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
  return undefined;
}

/** BEP 3 vectors: the whole frame, length prefix included. */
const VECTORS: [Exclude<Message, { type: 'unknown' }>, string][] = [
  [{ type: 'keep-alive' }, '00000000'],
  [{ type: 'choke' }, '00000001 00'],
  [{ type: 'unchoke' }, '00000001 01'],
  [{ type: 'interested' }, '00000001 02'],
  [{ type: 'not-interested' }, '00000001 03'],
  [{ type: 'have', index: 0x01020304 }, '00000005 04 01020304'],
  [{ type: 'bitfield', bits: hex('ff80') }, '00000003 05 ff80'],
  [{ type: 'request', index: 1, begin: 0x4000, length: 0x4000 }, '0000000d 06 00000001 00004000 00004000'],
  [{ type: 'piece', index: 2, begin: 0, block: hex('aabbcc') }, '0000000c 07 00000002 00000000 aabbcc'],
  [{ type: 'cancel', index: 1, begin: 0x4000, length: 0x4000 }, '0000000d 08 00000001 00004000 00004000'],
  [{ type: 'port', port: 6881 }, '00000003 09 1ae1'],
  [{ type: 'extended', id: 0, payload: hex('6465') }, '00000004 14 00 6465'],
];

describe('message codec', () => {
  it.each(VECTORS)('encodes and decodes %j', (msg, wire) => {
    const bytes = encodeMessage(msg);
    expect(toHex(bytes)).toBe(wire.replace(/\s+/g, ''));
    const decoded = decodeMessage(bytes.subarray(4));
    expect(decoded.type).toBe(msg.type);
    // Compare through hex for byte fields (whether Uint8Array or Buffer: the encoder hands out Buffers).
    const norm = (m: Message): unknown => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : (v as unknown)]));
    expect(norm(decoded)).toEqual(norm(msg));
  });

  it('returns the piece block as a view of the frame, not a copy', () => {
    const frame = encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(16384).fill(7) });
    const body = frame.subarray(4);
    const m = decodeMessage(body);
    if (m.type !== 'piece') throw new Error('not a piece');
    expect(m.block.buffer).toBe(body.buffer);
    expect(m.block.byteOffset).toBe(body.byteOffset + 9);
  });

  it('piece header matches the full encoding', () => {
    const full = encodeMessage({ type: 'piece', index: 9, begin: 16384, block: new Uint8Array(100) });
    expect(toHex(encodePieceHeader(9, 16384, 100))).toBe(toHex(full.subarray(0, 13)));
  });

  it.each([
    ['choke with payload', '00 00', 'wire_bad_length'],
    ['unchoke with payload', '01 00', 'wire_bad_length'],
    ['interested with payload', '02 01', 'wire_bad_length'],
    ['not-interested with payload', '03 ff', 'wire_bad_length'],
    ['have of 4 bytes', '04 000001', 'wire_bad_length'],
    ['have of 6 bytes', '04 0000000100', 'wire_bad_length'],
    ['request of 12 bytes', '06 00000001 00000000 000040', 'wire_bad_length'],
    ['request of 14 bytes', '06 00000001 00000000 00004000 00', 'wire_bad_length'],
    ['cancel of 12 bytes', '08 00000001 00000000 000040', 'wire_bad_length'],
    ['request for 0 bytes', '06 00000001 00000000 00000000', 'wire_bad_block_length'],
    ['request over the block cap', '06 00000001 00000000 00020001', 'wire_bad_block_length'],
    ['piece without header', '07 00000001 000000', 'wire_bad_length'],
    ['piece with empty block', '07 00000001 00000000', 'wire_bad_block_length'],
    ['port of 1 byte', '09 1a', 'wire_bad_length'],
    ['port of 3 bytes', '09 1ae100', 'wire_bad_length'],
    ['extended without id', '14', 'wire_bad_length'],
  ])('rejects %s', (_name, body, code) => {
    expect(codeOf(() => decodeMessage(hex(body)))).toBe(code);
  });

  it('rejects a piece block over the cap and accepts one at it', () => {
    const at = new Uint8Array(9 + MAX_BLOCK_LENGTH);
    at[0] = 7;
    expect(decodeMessage(at).type).toBe('piece');
    const over = new Uint8Array(10 + MAX_BLOCK_LENGTH);
    over[0] = 7;
    expect(codeOf(() => decodeMessage(over))).toBe('wire_bad_block_length');
    expect(codeOf(() => decodeMessage(at, { maxBlockLength: 16384 }))).toBe('wire_bad_block_length');
  });

  it('rejects an extended payload over its cap', () => {
    const over = new Uint8Array(3 + MAX_EXTENDED_PAYLOAD);
    over[0] = 20;
    expect(codeOf(() => decodeMessage(over))).toBe('wire_extended_too_large');
  });

  it('checks bitfield length and spare bits when the piece count is known', () => {
    expect(decodeMessage(hex('05 ff80'), { pieceCount: 9 }).type).toBe('bitfield');
    expect(codeOf(() => decodeMessage(hex('05 ffc0'), { pieceCount: 9 }))).toBe('wire_spare_bits');
    expect(codeOf(() => decodeMessage(hex('05 ff'), { pieceCount: 9 }))).toBe('wire_bad_length');
    expect(codeOf(() => decodeMessage(hex('05 ff8000'), { pieceCount: 9 }))).toBe('wire_bad_length');
    expect(codeOf(() => checkBitfield(hex('01'), 8))).toBeUndefined();
    expect(codeOf(() => checkBitfield(hex('01'), 7))).toBe('wire_spare_bits');
    // Unknown piece count: any length, checked later.
    expect(decodeMessage(hex('05 ffffff')).type).toBe('bitfield');
  });

  it('checks have/request/piece indices when the piece count is known', () => {
    expect(codeOf(() => decodeMessage(hex('04 00000009'), { pieceCount: 9 }))).toBe('wire_index_out_of_range');
    expect(decodeMessage(hex('04 00000008'), { pieceCount: 9 }).type).toBe('have');
    expect(codeOf(() => decodeMessage(hex('06 00000009 00000000 00004000'), { pieceCount: 9 }))).toBe('wire_index_out_of_range');
    expect(codeOf(() => decodeMessage(hex('07 00000009 00000000 aa'), { pieceCount: 9 }))).toBe('wire_index_out_of_range');
  });

  it('passes unknown ids through as unknown (BEP 6 fast messages we never advertise)', () => {
    expect(decodeMessage(hex('0e'))).toEqual({ type: 'unknown', id: 14, length: 0 });
    expect(decodeMessage(hex('11 00000001'))).toEqual({ type: 'unknown', id: 17, length: 4 });
  });

  it('refuses to encode out-of-range fields', () => {
    expect(codeOf(() => encodeMessage({ type: 'have', index: -1 }))).toBe('wire_bad_field');
    expect(codeOf(() => encodeMessage({ type: 'port', port: 70000 }))).toBe('wire_bad_field');
    expect(codeOf(() => encodeMessage({ type: 'extended', id: 256, payload: new Uint8Array(0) }))).toBe('wire_bad_field');
  });

  it('never throws anything but DecodeError on arbitrary bodies (fuzz, fixed seed)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
        (body, pieceCount) => {
          try {
            decodeMessage(body, { pieceCount });
          } catch (err) {
            if (!(err instanceof DecodeError)) throw err;
            expect(err.code).toMatch(/^wire_/);
          }
        },
      ),
      { seed: 0x5eed, numRuns: 5000 },
    );
  });

  it('round-trips every encodable message (property, fixed seed)', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const arb: fc.Arbitrary<Exclude<Message, { type: 'unknown' }>> = fc.oneof(
      fc.constant({ type: 'keep-alive' as const }),
      fc.constant({ type: 'choke' as const }),
      fc.record({ type: fc.constant('have' as const), index: u32 }),
      fc.record({ type: fc.constant('request' as const), index: u32, begin: u32, length: fc.integer({ min: 1, max: MAX_BLOCK_LENGTH }) }),
      fc.record({ type: fc.constant('piece' as const), index: u32, begin: u32, block: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
      fc.record({ type: fc.constant('port' as const), port: fc.integer({ min: 0, max: 65535 }) }),
      fc.record({ type: fc.constant('extended' as const), id: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 100 }) }),
    );
    fc.assert(
      fc.property(arb, (msg) => {
        const bytes = encodeMessage(msg);
        const again = encodeMessage(decodeMessage(bytes.subarray(4)) as Exclude<Message, { type: 'unknown' }>);
        expect(toHex(again)).toBe(toHex(bytes));
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});
