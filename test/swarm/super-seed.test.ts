import { describe, expect, it } from 'vitest';
import { Availability } from '../../src/swarm/availability.js';
import { SuperSeeder, SUPER_SEED_WINDOW } from '../../src/swarm/super-seed.js';
import { SeededRandom } from '../../src/util/random.js';

const PIECE = 1000;
const WINDOW = 4;

function setup(pieceCount: number, seed = 1) {
  const availability = new Availability(pieceCount);
  // A window of 4 keeps these small cases readable; the default is exercised by the session tests.
  const ss = new SuperSeeder({ random: new SeededRandom(seed), availability }, { pieceCount, pieceSize: () => PIECE, window: WINDOW });
  const join = (key: string): number[] => {
    availability.addPeer(key);
    return ss.addPeer(key);
  };
  return { availability, ss, join };
}

describe('SuperSeeder', () => {
  it('shows each new peer its own window of distinct pieces while fresh pieces last', () => {
    const { join } = setup(40);
    const shown = [join('a'), join('b'), join('c')];
    for (const w of shown) expect(w).toHaveLength(WINDOW);
    const all = shown.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('shows the next piece once a piece is all sent, and never a piece twice before all were shown once', () => {
    const { ss, join } = setup(16);
    const seen = new Map<number, number>();
    const note = (ps: number[]): void => ps.forEach((p) => seen.set(p, (seen.get(p) ?? 0) + 1));
    note(join('a'));
    note(join('b'));
    for (let round = 0; round < 2; round++) {
      for (const peer of ['a', 'b']) {
        const [first] = ss.shown(peer);
        expect(ss.served(peer, first as number, PIECE / 2)).toEqual([]);
        note(ss.served(peer, first as number, PIECE / 2));
      }
    }
    // 8 initial + 4 refills = 12 of 16 pieces, each shown once.
    expect(seen.size).toBe(12);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('prefers pieces the swarm holds least once every piece has been shown', () => {
    const { availability, ss, join } = setup(4);
    expect(join('a').sort()).toEqual([0, 1, 2, 3]);
    // b holds 0 and 1 already; c joins and every piece was offered once: it gets b's missing pieces 2 and 3 first.
    availability.addPeer('b');
    availability.have('b', 0);
    availability.have('b', 1);
    const forC = join('c');
    expect(forC.slice(0, 2).sort()).toEqual([2, 3]);
    expect(forC).toHaveLength(4);
    expect(ss.shown('c')).toHaveLength(4);
  });

  it('counts a piece as one copy whether it is held or on its way; a leaving peer frees its window', () => {
    const { availability, ss, join } = setup(8);
    const forA = join('a');
    const got = forA[0] as number;
    availability.have('a', got);
    // a got it elsewhere: a fifth never-shown piece tops its window up.
    const refill = ss.peerPiecesChanged('a');
    expect(refill).toHaveLength(1);
    expect(ss.shown('a')).not.toContain(got);
    const never = [0, 1, 2, 3, 4, 5, 6, 7].filter((p) => !forA.includes(p) && !refill.includes(p));
    expect(never).toHaveLength(3);
    // b gets the three pieces nobody has nor is being sent first, then one copy-1 piece.
    const forB = join('b');
    expect(forB.slice(0, 3).sort()).toEqual(never.sort());
    // A piece all sent to a stays counted (on its way) until a announces it, and is never shown to a again.
    const [next] = ss.shown('a');
    const after = ss.served('a', next as number, PIECE);
    expect(after).toHaveLength(1);
    expect(after).not.toContain(next);
    expect(ss.shown('a')).not.toContain(next);
    ss.removePeer('a');
    availability.removePeer('a');
    // a's pieces are free again: c sees them before anything b is being shown.
    const forC = join('c');
    const bSet = new Set(ss.shown('b'));
    expect(forC).toHaveLength(4);
    expect(forC.every((p) => !bSet.has(p))).toBe(true);
  });

  it('shows SUPER_SEED_WINDOW pieces by default', () => {
    const availability = new Availability(100);
    availability.addPeer('a');
    const ss = new SuperSeeder({ random: new SeededRandom(1), availability }, { pieceCount: 100, pieceSize: () => PIECE });
    expect(ss.addPeer('a')).toHaveLength(SUPER_SEED_WINDOW);
  });

  it('never shows a peer a piece it has, and stops when the peer lacks nothing', () => {
    const { availability, ss } = setup(3);
    availability.addPeer('a');
    availability.have('a', 0);
    availability.have('a', 2);
    expect(ss.addPeer('a')).toEqual([1]);
    availability.have('a', 1);
    expect(ss.peerPiecesChanged('a')).toEqual([]);
    expect(ss.shown('a')).toEqual([]);
    expect(ss.served('a', 1, PIECE)).toEqual([]);
    expect(ss.served('nobody', 1, PIECE)).toEqual([]);
  });
});
