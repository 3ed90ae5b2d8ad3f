import { describe, expect, it } from 'vitest';
import { MAX_FAILED_PIECES_TRACKED, PieceBlame } from '../../src/swarm/piece-blame.js';

const good = (begin: number): Uint8Array => new Uint8Array(4).fill(begin + 1);
const bad = new Uint8Array(4).fill(0xee);
const honest = { host: '10.0.0.1', peerId: 'h' };
const liar = { host: '10.0.0.2', peerId: 'l' };

describe('PieceBlame', () => {
  it('names the senders of a failed piece, then proves which sent a bad block once it verifies', async () => {
    const blame = new PieceBlame();
    blame.record(3, 0, 4, honest);
    blame.record(3, 4, 4, liar);
    // The failed bytes: the honest block, then the liar's.
    const failed = (begin: number): Uint8Array => (begin === 0 ? good(0) : bad);
    expect(await blame.pieceFailed(3, blame.seal(3), failed)).toEqual([honest, liar]);
    expect(blame.hasFailed(3)).toBe(true);
    // second attempt from the honest peer alone verifies
    blame.record(3, 0, 4, honest);
    blame.record(3, 4, 4, honest);
    const culprits = await blame.pieceVerified(3, async (begin) => good(begin));
    expect(culprits).toEqual([liar]);
    expect(blame.hasFailed(3)).toBe(false);
  });

  it('finds no culprit for a piece that never failed, and bounds what it keeps', async () => {
    const blame = new PieceBlame();
    blame.record(1, 0, 4, honest);
    expect(await blame.pieceVerified(1, async () => new Uint8Array(4))).toEqual([]);
    for (let i = 0; i < MAX_FAILED_PIECES_TRACKED + 10; i++) {
      blame.record(i, 0, 4, liar);
      await blame.pieceFailed(i, blame.seal(i), () => bad);
    }
    expect(blame.hasFailed(0)).toBe(false);
    expect(blame.hasFailed(MAX_FAILED_PIECES_TRACKED + 9)).toBe(true);
  });
});
