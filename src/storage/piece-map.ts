/**
 * Maps a byte range of the torrent's content (BEP 3: all files concatenated in order, cut into pieces)
 * onto the files that hold it. Pure arithmetic, no I/O, so the boundary cases are tested directly.
 */
import type { StorageLayout } from './piece-storage.js';

/** A run of bytes inside one file. */
export interface FileSpan {
  /** Index into layout.files. */
  file: number;
  /** Position in that file. */
  fileOffset: number;
  /** Position in the caller's buffer. */
  bufferOffset: number;
  length: number;
}

/** The spans covering `length` bytes from content offset `start`, in order. Zero-length files never appear. */
export function spansFor(layout: StorageLayout, start: number, length: number): FileSpan[] {
  const files = layout.files;
  const spans: FileSpan[] = [];
  if (length === 0) return spans;
  // Binary search for the last file starting at or before `start`.
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((files[mid] as StorageLayout['files'][number]).offset <= start) lo = mid;
    else hi = mid - 1;
  }
  let pos = start;
  let done = 0;
  for (let i = lo; i < files.length && done < length; i++) {
    const f = files[i] as StorageLayout['files'][number];
    const end = f.offset + f.length;
    if (end <= pos) continue; // zero-length files, or one ending exactly at `start`
    const n = Math.min(end - pos, length - done);
    spans.push({ file: i, fileOffset: pos - f.offset, bufferOffset: done, length: n });
    pos += n;
    done += n;
  }
  return spans;
}

/** The spans of a whole piece, or of a block inside it. */
export function spansForBlock(layout: StorageLayout, piece: number, offset: number, length: number): FileSpan[] {
  return spansFor(layout, piece * layout.pieceLength + offset, length);
}

/** Indices of zero-length files whose position falls inside piece `piece` (they exist once it is done). */
export function emptyFilesInPiece(layout: StorageLayout, piece: number): number[] {
  const start = piece * layout.pieceLength;
  const end = Math.min(start + layout.pieceLength, layout.totalLength);
  const last = piece === layout.pieceCount - 1;
  const out: number[] = [];
  layout.files.forEach((f, i) => {
    if (f.length === 0 && f.offset >= start && (f.offset < end || (last && f.offset === end))) out.push(i);
  });
  return out;
}
