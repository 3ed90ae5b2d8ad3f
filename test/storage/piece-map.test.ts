import { describe, expect, it } from 'vitest';
import { emptyFilesInPiece, spansFor, spansForBlock } from '../../src/storage/piece-map.js';
import type { StorageLayout } from '../../src/storage/piece-storage.js';

function layout(lengths: number[], pieceLength: number): StorageLayout {
  let offset = 0;
  const files = lengths.map((length, i) => {
    const f = { path: [`f${i}`], length, offset };
    offset += length;
    return f;
  });
  const pieceCount = Math.ceil(offset / pieceLength);
  return { pieceLength, pieceCount, totalLength: offset, pieces: new Uint8Array(pieceCount * 20), files };
}

describe('spansFor', () => {
  // Files: [0,10) [10,10) empty [10,25) [25,26) [26,40)
  const l = layout([10, 0, 15, 1, 14], 16);

  it('splits a range across files, skipping empty ones', () => {
    expect(spansFor(l, 5, 25)).toEqual([
      { file: 0, fileOffset: 5, bufferOffset: 0, length: 5 },
      { file: 2, fileOffset: 0, bufferOffset: 5, length: 15 },
      { file: 3, fileOffset: 0, bufferOffset: 20, length: 1 },
      { file: 4, fileOffset: 0, bufferOffset: 21, length: 4 },
    ]);
  });

  it('starts in the right file at an exact boundary', () => {
    expect(spansFor(l, 10, 3)).toEqual([{ file: 2, fileOffset: 0, bufferOffset: 0, length: 3 }]);
    expect(spansFor(l, 25, 1)).toEqual([{ file: 3, fileOffset: 0, bufferOffset: 0, length: 1 }]);
    expect(spansFor(l, 39, 1)).toEqual([{ file: 4, fileOffset: 13, bufferOffset: 0, length: 1 }]);
    expect(spansFor(l, 3, 0)).toEqual([]);
  });

  it('covers every byte exactly once for any block (exhaustive on a small layout)', () => {
    for (let start = 0; start < l.totalLength; start++) {
      for (let len = 0; start + len <= l.totalLength; len++) {
        const spans = spansFor(l, start, len);
        expect(spans.reduce((n, s) => n + s.length, 0)).toBe(len);
        let buf = 0;
        for (const s of spans) {
          expect(s.bufferOffset).toBe(buf);
          const f = l.files[s.file];
          expect(f).toBeDefined();
          expect(f!.offset + s.fileOffset).toBe(start + buf);
          expect(s.fileOffset + s.length).toBeLessThanOrEqual(f!.length);
          buf += s.length;
        }
      }
    }
  });

  it('maps piece-relative blocks', () => {
    expect(spansForBlock(l, 1, 0, 16)).toEqual(spansFor(l, 16, 16));
    expect(spansForBlock(l, 2, 2, 6)).toEqual([{ file: 4, fileOffset: 8, bufferOffset: 0, length: 6 }]);
  });
});

describe('emptyFilesInPiece', () => {
  it('places zero-length files in the piece holding their offset, the end in the last piece', () => {
    const l = layout([0, 16, 0, 5, 0], 16);
    expect(emptyFilesInPiece(l, 0)).toEqual([0]);
    expect(emptyFilesInPiece(l, 1)).toEqual([2, 4]);
  });
});
