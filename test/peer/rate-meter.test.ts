import { describe, expect, it } from 'vitest';
import { RateMeter } from '../../src/peer/rate-meter.js';

describe('RateMeter', () => {
  it('averages over the window and forgets old buckets', () => {
    const m = new RateMeter(0);
    m.add(1000, 0);
    expect(m.rate(500)).toBe(1000); // younger than a bucket: at least one bucket of span
    for (let t = 1000; t < 10_000; t += 1000) m.add(1000, t);
    expect(m.rate(10_000)).toBe(1000); // 4 full buckets of 1000 over 4 s
    expect(m.rate(20_000)).toBe(0);
    expect(m.total).toBe(10_000);
  });

  it('does not underrate a new fast peer', () => {
    const m = new RateMeter(0);
    m.add(2_000_000, 1500);
    expect(m.rate(2000)).toBe(1_000_000);
  });
});
