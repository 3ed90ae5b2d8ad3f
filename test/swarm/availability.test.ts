import { describe, expect, it } from 'vitest';
import { Availability } from '../../src/swarm/availability.js';
import { Bitfield } from '../../src/swarm/bitfield.js';

function field(n: number, idx: number[]): Bitfield {
  const f = new Bitfield(n);
  for (const i of idx) f.set(i);
  return f;
}

describe('Availability', () => {
  it('counts bitfields and haves, and subtracts exactly on removal', () => {
    const a = new Availability(5);
    a.addPeer('p1', field(5, [0, 1]));
    a.addPeer('p2', field(5, [1, 2]));
    a.addPeer('p3');
    expect([0, 1, 2, 3, 4].map((i) => a.count(i))).toEqual([1, 2, 1, 0, 0]);
    expect(a.have('p3', 4)).toBe(true);
    expect(a.have('p3', 4)).toBe(false); // a repeated have counts once
    expect(a.have('p1', 1)).toBe(false); // already in its bitfield
    expect(a.have('nobody', 0)).toBe(false);
    expect(a.have('p1', 5)).toBe(false);
    expect(a.count(4)).toBe(1);
    a.removePeer('p2');
    expect([0, 1, 2, 3, 4].map((i) => a.count(i))).toEqual([1, 1, 0, 0, 1]);
    a.removePeer('p2');
    expect(a.peerCount).toBe(2);
    expect(a.peerHas('p3', 4)).toBe(true);
  });

  it('copies the field it is given, and re-adding replaces', () => {
    const a = new Availability(3);
    const f = field(3, [0]);
    a.addPeer('p', f);
    f.set(1);
    expect(a.count(1)).toBe(0);
    a.setPieces('p', Bitfield.full(3));
    expect([a.count(0), a.count(1), a.count(2)]).toEqual([1, 1, 1]);
    expect(a.seedCount()).toBe(1);
  });

  it('rejects a field of the wrong size', () => {
    const a = new Availability(3);
    expect(() => a.addPeer('p', new Bitfield(4))).toThrow(RangeError);
  });
});
