import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PieceAssembly } from '../../src/swarm/piece-assembly.js';
import { SeededRandom } from '../../src/util/random.js';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest();

describe('PieceAssembly', () => {
  const data = new SeededRandom(9).bytes(5 * 1000 + 7);
  const blocks = [0, 1000, 2000, 3000, 4000, 5000].map((b) => [b, data.subarray(b, Math.min(b + 1000, data.length))] as const);

  it.each([
    ['in order', [0, 1, 2, 3, 4, 5]],
    ['reversed', [5, 4, 3, 2, 1, 0]],
    ['shuffled', [2, 0, 5, 1, 4, 3]],
  ])('gives the piece and its SHA-1 whatever the order of blocks (%s), in a reused buffer', (_name, order) => {
    const piece = new PieceAssembly(new Uint8Array(data.length).fill(0xee));
    for (const i of order) {
      expect(piece.digest()).toBeUndefined();
      const [begin, block] = blocks[i] as (typeof blocks)[number];
      piece.add(begin, block.slice()); // a copy the caller then reuses
    }
    expect(piece.buffer).toEqual(data);
    expect(piece.digest()).toEqual(sha1(data));
  });

  it('has no digest while a block is missing', () => {
    const piece = new PieceAssembly(new Uint8Array(data.length));
    for (const [begin, block] of blocks.slice(1)) piece.add(begin, block);
    expect(piece.digest()).toBeUndefined();
  });
});
