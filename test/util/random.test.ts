import { describe, expect, it } from 'vitest';
import { SeededRandom, sample, shuffle } from '../../src/util/random.js';

describe('SeededRandom', () => {
  it('replays the same stream for the same seed', () => {
    const a = new SeededRandom(5);
    const b = new SeededRandom(5);
    expect(Array.from(a.bytes(32))).toEqual(Array.from(b.bytes(32)));
    expect(new SeededRandom(6).int(1000)).not.toBe(new SeededRandom(5).int(1000));
  });

  it('stays in range', () => {
    const r = new SeededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(7);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThan(7);
    }
  });

  it('shuffles to a permutation and samples distinct items', () => {
    const r = new SeededRandom(3);
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect(shuffle(r, items.slice()).sort((x, y) => x - y)).toEqual(items);
    const s = sample(r, items, 10);
    expect(new Set(s).size).toBe(10);
  });
});
