import { describe, expect, it } from 'vitest';
import { MAX_PENDING_HAVES, PeerPieces } from '../../src/peer/peer-pieces.js';
import { DecodeError } from '../../src/util/errors.js';

describe('PeerPieces', () => {
  it('validates a bitfield immediately when the count is known', () => {
    const p = new PeerPieces(9);
    expect(p.onBitfield(new Uint8Array([0xff, 0x80]), false)?.count).toBe(9);
    expect(() => p.onBitfield(new Uint8Array([0xff, 0x80]), false)).toThrowError(DecodeError);
    expect(p.onHave(3)).toBe(false); // already set
  });

  it('rejects a bitfield after other messages', () => {
    expect(() => new PeerPieces(9).onBitfield(new Uint8Array([0, 0]), true)).toThrowError(/bitfield after/);
  });

  it('defers checks until the count is known, bounding pending haves', () => {
    const p = new PeerPieces(undefined);
    for (let i = 0; i < MAX_PENDING_HAVES + 10; i++) expect(p.onHave(i)).toBe(false);
    expect(p.bitfield).toBeUndefined();
    const f = p.setPieceCount(MAX_PENDING_HAVES + 10);
    expect(f?.count).toBe(MAX_PENDING_HAVES);
  });

  it('a pending have beyond the count is a violation', () => {
    const p = new PeerPieces(undefined);
    p.onHave(10);
    try {
      p.setPieceCount(10);
      expect.unreachable();
    } catch (err) {
      expect((err as DecodeError).code).toBe('wire_index_out_of_range');
    }
  });
});
