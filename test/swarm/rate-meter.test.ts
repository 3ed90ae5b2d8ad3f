import { describe, expect, it } from 'vitest';
import { RateMeter } from '../../src/swarm/rate-meter.js';
import { FakeClock } from '../support/fake-clock.js';

describe('RateMeter', () => {
  it('averages over its age while young, then over the window, and decays to zero', () => {
    const clock = new FakeClock(0);
    const meter = new RateMeter({ clock }, { windowMs: 5_000 });
    meter.add(1000);
    clock.advance(1000);
    meter.add(1000);
    clock.advance(1000);
    expect(meter.rate()).toBe(1000); // 2000 bytes over 2 s
    for (let i = 0; i < 10; i++) {
      meter.add(500);
      clock.advance(1000);
    }
    expect(meter.rate()).toBeCloseTo(500, 5);
    clock.advance(10_000);
    expect(meter.rate()).toBe(0);
    expect(meter.total).toBe(7000);
  });
});
