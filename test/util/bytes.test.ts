import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readU32, toHex, writeU32 } from '../../src/util/bytes.js';

describe('readU32 / writeU32', () => {
  it('are big-endian (network order)', () => {
    const b = new Uint8Array(6);
    writeU32(b, 1, 0x01020304);
    expect(toHex(b)).toBe('000102030400');
    expect(readU32(b, 1)).toBe(0x01020304);
    writeU32(b, 2, 0xffffffff);
    expect(readU32(b, 2)).toBe(0xffffffff);
  });

  it('round-trip every u32 and agree with DataView (property, fixed seed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 4 }), (v, at) => {
        const b = new Uint8Array(8);
        writeU32(b, at, v);
        expect(readU32(b, at)).toBe(v);
        expect(new DataView(b.buffer).getUint32(at)).toBe(v);
      }),
      { seed: 32, numRuns: 500 },
    );
  });
});
