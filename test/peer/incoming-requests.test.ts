import { describe, expect, it } from 'vitest';
import { IncomingRequests } from '../../src/peer/incoming-requests.js';
import { Bitfield } from '../../src/peer/bitfield.js';
import { DecodeError } from '../../src/util/errors.js';

describe('IncomingRequests', () => {
  it('is FIFO, bounded, deduplicated and cancellable', () => {
    const q = new IncomingRequests(2);
    expect(q.add({ index: 0, begin: 0, length: 1 })).toBe('added');
    expect(q.add({ index: 0, begin: 0, length: 1 })).toBe('duplicate');
    expect(q.add({ index: 0, begin: 1, length: 1 })).toBe('added');
    expect(q.add({ index: 0, begin: 2, length: 1 })).toBe('full');
    expect(q.remove({ index: 0, begin: 0, length: 1 })).toBe(true);
    expect(q.remove({ index: 0, begin: 0, length: 1 })).toBe(false);
    expect(q.shift()).toEqual({ index: 0, begin: 1, length: 1 });
    expect(q.shift()).toBeUndefined();
  });
});

describe('peer Bitfield', () => {
  it('validates, counts and sets', () => {
    const bf = Bitfield.fromBytes(new Uint8Array([0b10100000]), 3);
    expect(bf.count).toBe(2);
    expect([bf.has(0), bf.has(1), bf.has(2), bf.has(3)]).toEqual([true, false, true, false]);
    expect(bf.set(1)).toBe(true);
    expect(bf.set(1)).toBe(false);
    expect(bf.set(3)).toBe(false);
    expect(bf.complete).toBe(true);
    expect(Array.from(bf.toBytes())).toEqual([0b11100000]);
    expect(() => Bitfield.fromBytes(new Uint8Array([0b00010000]), 3)).toThrowError(DecodeError);
  });
});
