import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Availability } from '../../src/swarm/availability.js';
import { Bitfield } from '../../src/swarm/bitfield.js';
import { BLOCK_SIZE, PiecePicker, type BlockRequest } from '../../src/swarm/picker.js';
import { SeededRandom } from '../../src/util/random.js';

const KiB = 1024;

function setup(pieceCount: number, pieceLength: number, totalLength: number, seed = 1, randomFirstPieces = 0) {
  const availability = new Availability(pieceCount);
  const picker = new PiecePicker({ random: new SeededRandom(seed), availability }, { pieceCount, pieceLength, totalLength, randomFirstPieces });
  return { availability, picker };
}

function field(n: number, idx: Iterable<number>): Bitfield {
  const f = new Bitfield(n);
  for (const i of idx) f.set(i);
  return f;
}

describe('PiecePicker geometry', () => {
  it('splits pieces into 16 KiB blocks with a short last piece and last block', () => {
    const { picker } = setup(3, 64 * KiB, 2 * 64 * KiB + 20_000);
    expect(picker.blockCount(0)).toBe(4);
    expect(picker.pieceSize(2)).toBe(20_000);
    expect(picker.blockCount(2)).toBe(2);
    expect(picker.blockRequest(2, 1)).toEqual({ index: 2, begin: BLOCK_SIZE, length: 20_000 - BLOCK_SIZE });
  });

  it('rejects inconsistent sizes', () => {
    expect(() => setup(2, 64 * KiB, 64 * KiB)).toThrow(RangeError);
    expect(() => setup(1, 0, 0)).toThrow(RangeError);
  });
});

describe('PiecePicker ordering', () => {
  it('goes rarest first', () => {
    const { availability, picker } = setup(4, BLOCK_SIZE, 4 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(4));
    availability.addPeer('b', field(4, [0, 1, 3]));
    availability.addPeer('c', field(4, [0, 3]));
    // availability: [3, 2, 1, 3] -> piece 2, then 1, then 0/3 in random order
    const reqs = picker.pick('a', Bitfield.full(4), 4);
    expect(reqs.slice(0, 2).map((r) => r.index)).toEqual([2, 1]);
    expect(new Set(reqs.slice(2).map((r) => r.index))).toEqual(new Set([0, 3]));
  });

  it('keeps its order across picks only while the counts stand and no piece became fresh again', () => {
    for (let seed = 1; seed <= 10; seed++) {
      // A peer joins without piece 7: it becomes the one rarest piece, and the next pick must take it.
      const { availability, picker } = setup(8, BLOCK_SIZE, 8 * BLOCK_SIZE, seed);
      const a = Bitfield.full(8);
      availability.addPeer('a', a);
      const first = (picker.pick('a', a, 1)[0] as BlockRequest).index;
      const without = first === 7 ? 6 : 7;
      availability.addPeer('b', field(8, [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => i !== without)));
      expect(picker.pick('a', a, 1)[0]?.index).toBe(without);
    }
    // Piece 0 is the rarest; it fails its hash check and must be the next pick again.
    const { availability, picker } = setup(4, BLOCK_SIZE, 4 * BLOCK_SIZE);
    const a = Bitfield.full(4);
    availability.addPeer('a', a);
    availability.addPeer('b', field(4, [1, 2, 3]));
    expect(picker.pick('a', a, 1)[0]?.index).toBe(0);
    expect(picker.blockReceived('a', 0, 0, BLOCK_SIZE).pieceComplete).toBe(true);
    picker.pieceFailed(0);
    expect(picker.pick('a', a, 1)[0]?.index).toBe(0);
    // One piece per pick, picks filled exactly: every piece still comes out (none drawn and dropped).
    const one = setup(6, BLOCK_SIZE, 6 * BLOCK_SIZE, 5);
    const all = Bitfield.full(6);
    one.availability.addPeer('a', all);
    const got = [1, 2, 3, 4, 5, 6].map(() => one.picker.pick('a', all, 1)[0]?.index);
    expect(new Set(got)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    // Every piece it has is started: nothing more, until it announces another piece.
    const few = setup(4, BLOCK_SIZE, 4 * BLOCK_SIZE, 6);
    const f = field(4, [0, 1]);
    few.availability.addPeer('a', f);
    expect(few.picker.pick('a', f, 4).map((r) => r.index).sort()).toEqual([0, 1]);
    expect(few.picker.pick('a', f, 4)).toEqual([]);
    f.set(3);
    few.availability.have('a', 3);
    expect(few.picker.pick('a', f, 4).map((r) => r.index)).toEqual([3]);
  });

  it('breaks ties at random: both orders occur across seeds', () => {
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      const { availability, picker } = setup(8, BLOCK_SIZE, 8 * BLOCK_SIZE, seed);
      availability.addPeer('a', Bitfield.full(8));
      firsts.add((picker.pick('a', Bitfield.full(8), 1)[0] as BlockRequest).index);
    }
    expect(firsts.size).toBeGreaterThan(4);
  });

  it('picks the first pieces at random, ignoring rarity', () => {
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      const { availability, picker } = setup(8, BLOCK_SIZE, 8 * BLOCK_SIZE, seed, 4);
      availability.addPeer('a', Bitfield.full(8));
      availability.addPeer('b', field(8, [1, 2, 3, 4, 5, 6, 7])); // piece 0 is rarest
      firsts.add((picker.pick('a', Bitfield.full(8), 1)[0] as BlockRequest).index);
    }
    expect(firsts.size).toBeGreaterThan(2);
  });

  it('switches to rarest first after randomFirstPieces verified pieces', () => {
    const { availability, picker } = setup(8, BLOCK_SIZE, 8 * BLOCK_SIZE, 3, 2);
    availability.addPeer('a', Bitfield.full(8));
    availability.addPeer('b', field(8, [0, 1, 2, 3, 4, 5, 6]));
    picker.pieceVerified(0);
    picker.pieceVerified(1);
    expect(picker.pick('a', Bitfield.full(8), 1)[0]?.index).toBe(7);
  });

  it('finishes partial pieces first', () => {
    const { availability, picker } = setup(4, 4 * BLOCK_SIZE, 16 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(4));
    availability.addPeer('b', field(4, [0, 1, 2]));
    const first = picker.pick('a', Bitfield.full(4), 2); // piece 3 (rarest), blocks 0 and 1
    expect(first.map((r) => [r.index, r.begin])).toEqual([[3, 0], [3, BLOCK_SIZE]]);
    const next = picker.pick('a', Bitfield.full(4), 3);
    expect(next.slice(0, 2).map((r) => [r.index, r.begin])).toEqual([[3, 2 * BLOCK_SIZE], [3, 3 * BLOCK_SIZE]]);
    expect(next[2]?.index).not.toBe(3);
  });

  it('only picks pieces the peer has and never a verified one', () => {
    const { availability, picker } = setup(4, BLOCK_SIZE, 4 * BLOCK_SIZE);
    availability.addPeer('a', field(4, [1, 2]));
    picker.pieceVerified(2);
    const reqs = picker.pick('a', field(4, [1, 2]), 10);
    expect(reqs.map((r) => r.index)).toEqual([1]);
    expect(picker.pick('a', field(4, [1, 2]), 10)).toEqual([]);
  });
});

describe('PiecePicker bookkeeping', () => {
  it('reports completion, duplicates and invalid blocks', () => {
    const { availability, picker } = setup(2, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(2));
    picker.pick('a', Bitfield.full(2), 10);
    expect(picker.blockReceived('a', 0, 0, BLOCK_SIZE)).toEqual({ status: 'new', pieceComplete: false, cancel: [] });
    expect(picker.blockReceived('a', 0, 0, BLOCK_SIZE).status).toBe('duplicate');
    expect(picker.blockReceived('a', 0, BLOCK_SIZE, BLOCK_SIZE).pieceComplete).toBe(true);
    expect(picker.blockReceived('a', 0, 100, BLOCK_SIZE).status).toBe('invalid');
    expect(picker.blockReceived('a', 1, BLOCK_SIZE, BLOCK_SIZE).status).toBe('invalid'); // past the end
    expect(picker.blockReceived('a', 1, 0, 100).status).toBe('invalid'); // wrong length
    expect(picker.blockReceived('a', 2, 0, BLOCK_SIZE).status).toBe('invalid');
    expect(picker.blockReceived('a', 1, 0, BLOCK_SIZE).pieceComplete).toBe(true);
    picker.pieceVerified(0);
    picker.pieceVerified(1);
    expect(picker.isComplete()).toBe(true);
    expect(picker.blockReceived('a', 0, 0, BLOCK_SIZE).status).toBe('duplicate');
    expect(picker.outstanding('a')).toBe(0);
  });

  it('frees blocks of a peer that leaves, for others to take', () => {
    const { availability, picker } = setup(1, 4 * BLOCK_SIZE, 4 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(1));
    availability.addPeer('b', Bitfield.full(1));
    expect(picker.pick('a', Bitfield.full(1), 4)).toHaveLength(4);
    expect(picker.outstanding('a')).toBe(4);
    expect(picker.releasePeer('a')).toHaveLength(4);
    expect(picker.outstanding('a')).toBe(0);
    expect(picker.pick('b', Bitfield.full(1), 4)).toHaveLength(4);
  });

  it('release() frees one block', () => {
    const { availability, picker } = setup(1, 2 * BLOCK_SIZE, 2 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(1));
    const [r0] = picker.pick('a', Bitfield.full(1), 1);
    picker.release('a', r0 as BlockRequest);
    expect(picker.pick('a', Bitfield.full(1), 1)).toEqual([r0]);
  });

  it('names the contributors of a failed piece and frees its blocks', () => {
    const { availability, picker } = setup(1, 2 * BLOCK_SIZE, 2 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(1));
    availability.addPeer('b', Bitfield.full(1));
    picker.pick('a', Bitfield.full(1), 1);
    picker.pick('b', Bitfield.full(1), 1);
    picker.blockReceived('a', 0, 0, BLOCK_SIZE);
    expect(picker.blockReceived('b', 0, BLOCK_SIZE, BLOCK_SIZE).pieceComplete).toBe(true);
    expect(picker.pieceFailed(0).sort()).toEqual(['a', 'b']);
    expect(picker.missingBlocks()).toHaveLength(2);
    expect(picker.pick('a', Bitfield.full(1), 5)).toHaveLength(2);
  });

  it('enters endgame only when every missing block is requested, and duplicates then', () => {
    const { availability, picker } = setup(2, 2 * BLOCK_SIZE, 4 * BLOCK_SIZE);
    availability.addPeer('a', Bitfield.full(2));
    availability.addPeer('b', Bitfield.full(2));
    expect(picker.inEndgame()).toBe(false);
    const fromA = picker.pick('a', Bitfield.full(2), 3);
    expect(fromA).toHaveLength(3);
    expect(picker.inEndgame()).toBe(false);
    // b takes the last free block, then endgame gives it duplicates of a's three
    const fromB = picker.pick('b', Bitfield.full(2), 10);
    expect(fromB).toHaveLength(4);
    expect(picker.inEndgame()).toBe(true);
    // a's copy arrives first: b is to be cancelled
    const first = fromA[0] as BlockRequest;
    expect(picker.blockReceived('a', first.index, first.begin, first.length).cancel).toEqual(['b']);
    expect(picker.outstanding('b')).toBe(3);
  });
});

describe('PiecePicker properties', () => {
  const scenario = fc.record({
    pieceCount: fc.integer({ min: 1, max: 12 }),
    blocksPerPiece: fc.integer({ min: 1, max: 4 }),
    lastShort: fc.integer({ min: 0, max: BLOCK_SIZE * 4 - 1 }),
    peers: fc.array(fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
    ops: fc.array(fc.tuple(fc.nat(4), fc.integer({ min: 0, max: 6 }), fc.nat(20)), { maxLength: 60 }),
    seed: fc.nat(),
  });

  it('never requests a piece the peer lacks, nor a verified piece, nor the same block twice from one peer', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const pieceLength = s.blocksPerPiece * BLOCK_SIZE;
        const totalLength = Math.max(1, s.pieceCount * pieceLength - (s.lastShort % pieceLength));
        const availability = new Availability(s.pieceCount);
        const picker = new PiecePicker({ random: new SeededRandom(s.seed), availability }, { pieceCount: s.pieceCount, pieceLength, totalLength });
        const fields = s.peers.map((bits, i) => {
          const f = field(s.pieceCount, bits.slice(0, s.pieceCount).flatMap((b, j) => (b ? [j] : [])));
          availability.addPeer(`p${i}`, f);
          return f;
        });
        const outstanding = new Map<string, Set<string>>();
        for (const [peerIdx, op, n] of s.ops) {
          const p = peerIdx % fields.length;
          const peer = `p${p}`;
          const f = fields[p] as Bitfield;
          const mine = outstanding.get(peer) ?? new Set<string>();
          outstanding.set(peer, mine);
          if (op <= 2) {
            for (const r of picker.pick(peer, f, n)) {
              expect(f.has(r.index)).toBe(true);
              expect(picker.verified.has(r.index)).toBe(false);
              const k = `${r.index}:${r.begin}`;
              expect(mine.has(k)).toBe(false);
              mine.add(k);
            }
          } else if (op <= 4) {
            // deliver one of this peer's outstanding blocks
            const k = [...mine][n % Math.max(1, mine.size)];
            if (k === undefined) continue;
            const [index, begin] = k.split(':').map(Number) as [number, number];
            const len = picker.blockRequest(index, begin / BLOCK_SIZE).length;
            const out = picker.blockReceived(peer, index, begin, len);
            mine.delete(k);
            for (const other of out.cancel) outstanding.get(other)?.delete(k);
            if (out.pieceComplete) {
              if (op === 3) for (const c of picker.pieceVerified(index)) for (const kk of [...(outstanding.get(c) ?? [])]) if (kk.startsWith(`${index}:`)) outstanding.get(c)?.delete(kk);
              else {
                picker.pieceFailed(index);
                for (const set of outstanding.values()) for (const kk of [...set]) if (kk.startsWith(`${index}:`)) set.delete(kk);
              }
            }
          } else {
            picker.releasePeer(peer);
            mine.clear();
          }
          expect(picker.outstanding(peer)).toBe(mine.size);
        }
      }),
      { seed: 20261121, numRuns: 300 },
    );
  });

  it('in endgame, a peer with every piece is offered every missing block not already its own', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 4 }), fc.nat(), fc.nat(), (pieceCount, blocksPerPiece, seed, receivedMask) => {
        const pieceLength = blocksPerPiece * BLOCK_SIZE;
        const totalLength = pieceCount * pieceLength - 1000;
        const { availability, picker } = setup(pieceCount, pieceLength, Math.max(1, totalLength), seed);
        availability.addPeer('a', Bitfield.full(pieceCount));
        availability.addPeer('b', Bitfield.full(pieceCount));
        const all = picker.pick('a', Bitfield.full(pieceCount), 1_000);
        // some of a's blocks arrive (without completing verification)
        all.forEach((r, i) => {
          if ((receivedMask >> (i % 30)) & 1) picker.blockReceived('a', r.index, r.begin, r.length);
        });
        if (picker.isComplete() || picker.missingBlocks().length === 0) return;
        expect(picker.inEndgame()).toBe(true);
        const dup = picker.pick('b', Bitfield.full(pieceCount), 1_000);
        const key = (r: BlockRequest): string => `${r.index}:${r.begin}`;
        expect(new Set(dup.map(key))).toEqual(new Set(picker.missingBlocks().map(key)));
      }),
      { seed: 99, numRuns: 200 },
    );
  });
});

describe('PiecePicker behaviour trace', () => {
  /**
   * A fixed, seeded mix of picks, arrivals, releases, departures, verifications and hash failures, folded
   * into one digest. It pins the picker's exact choices (and its use of the Random), so a change meant only
   * to make picking cheaper cannot change what is picked. Re-recorded once, when rarest first began to keep
   * its shuffled order across picks (same rule, other draws); `notRarest` checks the rule itself: each new
   * piece a pick starts (after the random first pieces) is one of the rarest fresh pieces the peer has.
   */
  function trace(pieceCount: number, blocksPerPiece: number, steps: number, seed: number): { digest: string; picks: number; endgameSteps: number; complete: boolean; notRarest: number } {
    const pieceLength = blocksPerPiece * BLOCK_SIZE;
    const total = pieceCount * pieceLength - 5000;
    const { availability, picker } = setup(pieceCount, pieceLength, total, seed, 4);
    const driver = new SeededRandom(seed + 1000);
    const peers = ['a', 'b', 'c', 'd', 'e'];
    const fields = new Map<string, Bitfield>();
    const join = (p: string): void => {
      const f = new Bitfield(pieceCount);
      for (let i = 0; i < pieceCount; i++) if (driver.int(3) > 0) f.set(i);
      fields.set(p, f);
      availability.addPeer(p, f);
    };
    peers.forEach(join);
    const outstanding = new Map<string, BlockRequest[]>(peers.map((p) => [p, []]));
    const hash = createHash('sha1');
    let picks = 0;
    let endgameSteps = 0;
    let notRarest = 0;
    const started = new Set<number>();
    for (let step = 0; step < steps && !picker.isComplete(); step++) {
      const p = peers[driver.int(peers.length)] as string;
      const mine = outstanding.get(p) as BlockRequest[];
      const action = driver.int(20);
      if (action < 8) {
        const pieces = fields.get(p) as Bitfield;
        const fresh = new Set<number>();
        for (let i = 0; i < pieceCount; i++) if (pieces.has(i) && !started.has(i) && !picker.verified.has(i)) fresh.add(i);
        const rarestPhase = picker.verified.count() >= 4;
        const got = picker.pick(p, pieces, 1 + driver.int(6));
        for (const r of got) {
          if (started.has(r.index)) continue;
          started.add(r.index);
          const min = Math.min(...[...fresh].map((i) => availability.count(i)));
          if (rarestPhase && availability.count(r.index) !== min) notRarest++;
          fresh.delete(r.index);
        }
        picks += got.length;
        mine.push(...got);
        hash.update(`p${p}${got.map((r) => `${r.index}/${r.begin}/${r.length}`).join(',')};`);
      } else if (action < 17 && mine.length > 0) {
        const r = mine.splice(driver.int(mine.length), 1)[0] as BlockRequest;
        const out = picker.blockReceived(p, r.index, r.begin, r.length);
        hash.update(`r${p}${r.index}/${r.begin}${out.status}${out.pieceComplete}${out.cancel.join('')};`);
        for (const c of out.cancel) {
          const theirs = outstanding.get(c) as BlockRequest[];
          const at = theirs.findIndex((x) => x.index === r.index && x.begin === r.begin);
          if (at >= 0) theirs.splice(at, 1);
        }
        if (out.pieceComplete) {
          started.delete(r.index);
          if (driver.int(10) === 0) hash.update(`f${picker.pieceFailed(r.index).join('')};`);
          else hash.update(`v${picker.pieceVerified(r.index).join('')};`);
          for (const [, list] of outstanding) for (let i = list.length - 1; i >= 0; i--) if ((list[i] as BlockRequest).index === r.index) list.splice(i, 1);
        }
      } else if (action === 17 && mine.length > 0) {
        const r = mine.splice(driver.int(mine.length), 1)[0] as BlockRequest;
        picker.release(p, r);
      } else if (action === 18) {
        hash.update(`x${p}${picker.releasePeer(p).length};`);
        mine.length = 0;
      } else {
        const i = driver.int(pieceCount);
        if (availability.have(p, i)) (fields.get(p) as Bitfield).set(i);
      }
      const endgame = picker.inEndgame();
      if (endgame) endgameSteps++;
      hash.update(`e${endgame}`);
    }
    return { digest: hash.digest('hex'), picks, endgameSteps, complete: picker.isComplete(), notRarest };
  }

  it('makes the same choices as recorded', () => {
    // Both runs reach the endgame and complete, so every step of the picker is covered.
    expect(trace(60, 4, 3000, 7)).toEqual({ digest: '159fce5f5f44c2218b8f2e0109d81afe27078ce4', picks: 988, endgameSteps: 193, complete: true, notRarest: 0 });
    expect(trace(25, 16, 3000, 8)).toEqual({ digest: 'd8aac63c2b0f12b443a5012e88e61cc5beed9c26', picks: 1556, endgameSteps: 360, complete: true, notRarest: 0 });
  });
});
