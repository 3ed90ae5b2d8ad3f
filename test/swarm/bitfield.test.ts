import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Bitfield, bitfieldByteLength } from '../../src/swarm/bitfield.js';
import { DecodeError } from '../../src/util/errors.js';

describe('Bitfield', () => {
  it('uses the BEP 3 bit order: high bit of byte 0 is piece 0', () => {
    const f = new Bitfield(10);
    f.set(0);
    f.set(9);
    expect([...f.toBytes()]).toEqual([0x80, 0x40]);
    expect(f.has(0)).toBe(true);
    expect(f.has(1)).toBe(false);
    expect(f.has(9)).toBe(true);
    expect(f.count()).toBe(2);
  });

  it('decodes wire bytes and counts', () => {
    const f = Bitfield.fromBytes(Uint8Array.from([0b10100000, 0b11000000]), 10);
    expect([...f.indices()]).toEqual([0, 2, 8, 9]);
    expect([...f.missing()]).toEqual([1, 3, 4, 5, 6, 7]);
    expect(f.count()).toBe(4);
  });

  it('rejects a wrong length', () => {
    expect(() => Bitfield.fromBytes(new Uint8Array(3), 10)).toThrow(DecodeError);
    expect(() => Bitfield.fromBytes(new Uint8Array(1), 10)).toThrow(/expected 2/);
  });

  it('rejects spare bits set past the last piece', () => {
    try {
      Bitfield.fromBytes(Uint8Array.from([0xff, 0xe0]), 10);
      expect.unreachable();
    } catch (err) {
      expect((err as DecodeError).code).toBe('bitfield_spare_bits');
    }
    expect(Bitfield.fromBytes(Uint8Array.from([0xff, 0xc0]), 10).isComplete()).toBe(true);
  });

  it('set/clear report changes and keep the count; out-of-range has() is false, set() throws', () => {
    const f = new Bitfield(9);
    expect(f.set(8)).toBe(true);
    expect(f.set(8)).toBe(false);
    expect(f.count()).toBe(1);
    expect(f.clear(8)).toBe(true);
    expect(f.clear(8)).toBe(false);
    expect(f.count()).toBe(0);
    expect(f.has(9)).toBe(false);
    expect(f.has(-1)).toBe(false);
    expect(() => f.set(9)).toThrow(RangeError);
    expect(() => f.set(1.5)).toThrow(RangeError);
  });

  it('full(), clone() and zero pieces', () => {
    const full = Bitfield.full(13);
    expect(full.isComplete()).toBe(true);
    expect([...full.toBytes()]).toEqual([0xff, 0xf8]);
    const c = full.clone();
    c.clear(0);
    expect(full.has(0)).toBe(true);
    expect(new Bitfield(0).isComplete()).toBe(true);
    expect(new Bitfield(0).toBytes().length).toBe(0);
    expect(bitfieldByteLength(16)).toBe(2);
    expect(bitfieldByteLength(17)).toBe(3);
  });

  it('round-trips any set of pieces (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 })))), ([n, idx]) => {
        const f = new Bitfield(n);
        for (const i of idx) f.set(i);
        const g = Bitfield.fromBytes(f.toBytes(), n);
        expect([...g.indices()]).toEqual([...idx].sort((a, b) => a - b));
        expect(g.count()).toBe(idx.length);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('never throws anything but DecodeError on hostile bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 300 }), (bytes, n) => {
        try {
          const f = Bitfield.fromBytes(bytes, n);
          expect(f.count()).toBeLessThanOrEqual(n);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
