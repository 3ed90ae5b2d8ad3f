import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MetadataAssembler } from '../../src/wire/metadata-assembler.js';
import { MAX_METADATA_SIZE } from '../../src/wire/extension.js';
import { SeededRandom } from '../../src/util/random.js';
import { toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

const info = new SeededRandom(3).bytes(40_000); // 3 pieces: 16384, 16384, 7232
const infohash = new Uint8Array(createHash('sha1').update(info).digest());
const piece = (i: number): Uint8Array => info.subarray(i * 16384, Math.min(info.length, (i + 1) * 16384));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
  return undefined;
}

describe('MetadataAssembler', () => {
  it('assembles pieces in any order and verifies the SHA-1', () => {
    const a = new MetadataAssembler({ infohash, metadataSize: info.length });
    expect(a.pieceCount).toBe(3);
    expect(a.nextToRequest()).toBe(0);
    expect(a.accept(2, info.length, piece(2), 'p1')).toEqual({ status: 'accepted', remaining: 2 });
    expect(a.accept(2, info.length, piece(2), 'p1')).toEqual({ status: 'duplicate' });
    expect(a.nextToRequest(new Set([0]))).toBe(1);
    expect(a.accept(0, info.length, piece(0), 'p2').status).toBe('accepted');
    const r = a.accept(1, info.length, piece(1), 'p1');
    expect(r.status).toBe('complete');
    if (r.status === 'complete') expect(toHex(r.info)).toBe(toHex(info));
    expect(a.complete).toBe(true);
  });

  it('on a hash mismatch resets and names every contributor', () => {
    const a = new MetadataAssembler({ infohash, metadataSize: info.length });
    const bad = piece(1).slice();
    bad[0] = (bad[0] as number) ^ 1;
    a.accept(0, info.length, piece(0), 'good');
    a.accept(1, info.length, bad, 'liar');
    const r = a.accept(2, info.length, piece(2), 'good');
    expect(r.status).toBe('hash_mismatch');
    if (r.status === 'hash_mismatch') expect([...r.contributors].sort()).toEqual(['good', 'liar']);
    expect(a.missing()).toEqual([0, 1, 2]);
    a.accept(0, info.length, piece(0), 'good');
    a.accept(1, info.length, piece(1), 'good');
    expect(a.accept(2, info.length, piece(2), 'good').status).toBe('complete');
  });

  it('rejects size lies and wrong lengths', () => {
    const a = new MetadataAssembler({ infohash, metadataSize: info.length });
    expect(codeOf(() => a.accept(0, info.length + 1, piece(0), 'x'))).toBe('wire_metadata_size');
    expect(codeOf(() => a.accept(3, info.length, piece(2), 'x'))).toBe('wire_metadata_bad_piece');
    expect(codeOf(() => a.accept(2, info.length, piece(1), 'x'))).toBe('wire_metadata_bad_length');
    expect(codeOf(() => a.accept(0, info.length, piece(0).subarray(1), 'x'))).toBe('wire_metadata_bad_length');
    expect(a.missing()).toEqual([0, 1, 2]);
  });

  it('refuses sizes beyond the cap', () => {
    expect(codeOf(() => new MetadataAssembler({ infohash, metadataSize: MAX_METADATA_SIZE + 1 }))).toBe('wire_metadata_size');
    expect(codeOf(() => new MetadataAssembler({ infohash, metadataSize: 0 }))).toBe('wire_metadata_size');
  });
});
