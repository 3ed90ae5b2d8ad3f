import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CHOKE_INTERVAL_MS, chokeRound, INITIAL_CHOKER_STATE, OPTIMISTIC_INTERVAL_MS, SEED_SLOT_MS, type ChokerPeer } from '../../src/swarm/choker.js';
import { SeededRandom } from '../../src/util/random.js';

const NOW = 1_000_000;

function peer(key: string, over: Partial<ChokerPeer> = {}): ChokerPeer {
  return { key, interested: true, downloadRate: 0, uploadRate: 0, snubbed: false, connectedAt: NOW - 600_000, ...over };
}

describe('chokeRound', () => {
  it('leeching: regular slots go to the four fastest uploaders to us, plus one optimistic', () => {
    const peers = [1, 2, 3, 4, 5, 6, 7].map((i) => peer(`p${i}`, { downloadRate: i * 1000, uploadRate: (8 - i) * 1000 }));
    const r = chokeRound(peers, NOW, new SeededRandom(1), INITIAL_CHOKER_STATE, { seeding: false });
    expect(r.regular).toEqual(['p7', 'p6', 'p5', 'p4']);
    expect(['p1', 'p2', 'p3']).toContain(r.optimistic);
    expect(r.unchoke.size).toBe(5);
  });

  it('seeding: slots rotate round-robin, each held about 30 s, to the peers waiting longest', () => {
    const peers = Array.from({ length: 8 }, (_, i) => peer(`p${i}`, { uploadRate: (8 - i) * 1000 }));
    const random = new SeededRandom(1);
    const served = new Map<string, number>();
    let state = INITIAL_CHOKER_STATE;
    let previous: string[] = [];
    for (let t = 0; t < 120_000; t += CHOKE_INTERVAL_MS) {
      const r = chokeRound(peers, NOW + t, random, state, { seeding: true, slots: 4 });
      expect(r.regular).toHaveLength(4);
      // within 30 s of being granted, a slot is not taken away
      if (t % SEED_SLOT_MS !== 0) expect(r.regular.slice().sort()).toEqual(previous.slice().sort());
      for (const k of r.regular) served.set(k, (served.get(k) ?? 0) + 1);
      previous = r.regular;
      state = r.state;
    }
    expect(served.size).toBe(8);
    // fair: every peer had its slot for the same number of rounds
    expect(new Set(served.values()).size).toBe(1);
    expect(state.regularSince.size).toBe(4);
    expect(state.lastServed.size).toBeLessThanOrEqual(8);
  });

  it('seeding: keeps a held slot of a peer that is still interested, forgets peers that left', () => {
    const a = peer('a');
    const b = peer('b');
    const r1 = chokeRound([a, b], NOW, new SeededRandom(3), INITIAL_CHOKER_STATE, { seeding: true, slots: 1 });
    const holder = r1.regular[0] as string;
    const r2 = chokeRound([a, b], NOW + 10_000, new SeededRandom(4), r1.state, { seeding: true, slots: 1 });
    expect(r2.regular).toEqual([holder]);
    const r3 = chokeRound([peer('c')], NOW + 20_000, new SeededRandom(5), r2.state, { seeding: true, slots: 1 });
    expect(r3.regular).toEqual(['c']);
    expect([...r3.state.lastServed.keys()]).toEqual([]);
  });

  it('never unchokes uninterested peers, and snubbed peers get no regular slot', () => {
    const peers = [
      peer('fast-snub', { downloadRate: 9e9, snubbed: true }),
      peer('bored', { interested: false, downloadRate: 9e8 }),
      peer('a', { downloadRate: 10 }),
      peer('b', { downloadRate: 5 }),
    ];
    for (let seed = 0; seed < 20; seed++) {
      const r = chokeRound(peers, NOW, new SeededRandom(seed), INITIAL_CHOKER_STATE, { seeding: false });
      expect(r.regular).toEqual(['a', 'b']);
      expect(r.unchoke.has('bored')).toBe(false);
      expect(r.optimistic).toBe('fast-snub'); // the only interested peer outside the regular set
    }
  });

  it('keeps the optimistic peer for 30 s, then rotates', () => {
    const peers = Array.from({ length: 10 }, (_, i) => peer(`p${i}`));
    const random = new SeededRandom(5);
    const r1 = chokeRound(peers, NOW, random, INITIAL_CHOKER_STATE, { seeding: false, slots: 0 });
    const r2 = chokeRound(peers, NOW + 10_000, random, r1.state, { seeding: false, slots: 0 });
    const r3 = chokeRound(peers, NOW + 20_000, random, r2.state, { seeding: false, slots: 0 });
    expect(r2.optimistic).toBe(r1.optimistic);
    expect(r3.optimistic).toBe(r1.optimistic);
    const seen = new Set<string | undefined>();
    let state = r3.state;
    for (let t = OPTIMISTIC_INTERVAL_MS; t < OPTIMISTIC_INTERVAL_MS * 20; t += OPTIMISTIC_INTERVAL_MS) {
      const r = chokeRound(peers, NOW + t, random, state, { seeding: false, slots: 0 });
      seen.add(r.optimistic);
      state = r.state;
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('replaces an optimistic peer that left or lost interest at once', () => {
    const peers = [peer('x'), peer('y')];
    const r1 = chokeRound(peers, NOW, new SeededRandom(2), INITIAL_CHOKER_STATE, { seeding: false, slots: 0 });
    const other = r1.optimistic === 'x' ? 'y' : 'x';
    const r2 = chokeRound([peer(other)], NOW + 1000, new SeededRandom(2), r1.state, { seeding: false, slots: 0 });
    expect(r2.optimistic).toBe(other);
    const r3 = chokeRound([peer(other, { interested: false })], NOW + 2000, new SeededRandom(2), r2.state, { seeding: false, slots: 0 });
    expect(r3.optimistic).toBeUndefined();
    expect(r3.unchoke.size).toBe(0);
  });

  it('makes a newly connected peer about three times as likely to be the optimistic unchoke', () => {
    const peers = [peer('new', { connectedAt: NOW - 5_000 }), peer('old1'), peer('old2'), peer('old3')];
    const random = new SeededRandom(11);
    let picks = 0;
    const rounds = 6000;
    for (let i = 0; i < rounds; i++) {
      if (chokeRound(peers, NOW, random, INITIAL_CHOKER_STATE, { seeding: false, slots: 0 }).optimistic === 'new') picks++;
    }
    // weight 3 of 6 in total: one half (an unweighted draw would give one quarter)
    expect(picks / rounds).toBeGreaterThan(0.45);
    expect(picks / rounds).toBeLessThan(0.55);
  });

  it('breaks equal rates at random rather than by list order', () => {
    const peers = Array.from({ length: 8 }, (_, i) => peer(`p${i}`));
    const chosen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) for (const k of chokeRound(peers, NOW, new SeededRandom(seed), INITIAL_CHOKER_STATE, { seeding: false }).regular) chosen.add(k);
    expect(chosen.size).toBe(8);
  });

  it('never unchokes more than slots + 1, nor an uninterested or unknown peer, over any sequence of rounds (property)', () => {
    const peerArb = fc.record({
      interested: fc.boolean(), downloadRate: fc.nat(1e6), uploadRate: fc.nat(1e6), snubbed: fc.boolean(), age: fc.nat(200_000),
    });
    fc.assert(
      fc.property(fc.array(fc.array(peerArb, { maxLength: 12 }), { minLength: 1, maxLength: 15 }), fc.boolean(), fc.nat(), (rounds, seeding, seed) => {
        const random = new SeededRandom(seed);
        let state = INITIAL_CHOKER_STATE;
        rounds.forEach((round, r) => {
          const now = NOW + r * CHOKE_INTERVAL_MS;
          const peers = round.map((p, i) => peer(`p${i}`, { ...p, connectedAt: now - p.age }));
          const result = chokeRound(peers, now, random, state, { seeding });
          expect(result.unchoke.size).toBeLessThanOrEqual(5);
          for (const k of result.unchoke) {
            const p = peers.find((x) => x.key === k);
            expect(p?.interested).toBe(true);
          }
          for (const k of result.regular) expect(peers.find((x) => x.key === k)?.snubbed).toBe(false);
          expect(result.state.regularSince.size).toBeLessThanOrEqual(peers.length);
          state = result.state;
        });
      }),
      { seed: 4242, numRuns: 300 },
    );
  });
});
