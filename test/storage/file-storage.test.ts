import { access, mkdir, readFile, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/storage/file-storage.js';
import { mapFsError, StorageError, type StorageLayout } from '../../src/storage/piece-storage.js';
import { shuffle, SeededRandom } from '../../src/util/random.js';
import { bytesEqual, concatBytes, toHex } from '../../src/util/bytes.js';
import { encode } from '../../src/codec/bencode.js';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { hashPieces, makeTorrent, tempDir, type TorrentFixture } from '../support/torrent-fixture.js';

const BLOCK = 16384;
const PIECE = 32768;

/** Files that straddle piece and block boundaries, an empty file, and an odd last piece. */
function fixture(): TorrentFixture {
  return makeTorrent({
    name: 'multi',
    pieceLength: PIECE,
    seed: 3,
    files: [
      { path: ['a.bin'], length: 40000 },
      { path: ['sub', 'empty.txt'], length: 0 },
      { path: ['sub', 'b.bin'], length: 7 },
      { path: ['sub', 'deep', 'c.bin'], length: 70000 },
      { path: ['z.bin'], length: 12345 },
    ],
  });
}

function blocksOf(layout: StorageLayout, piece: number): { offset: number; length: number }[] {
  const size = piece < layout.pieceCount - 1 ? layout.pieceLength : layout.totalLength - layout.pieceLength * (layout.pieceCount - 1);
  const out = [];
  for (let o = 0; o < size; o += BLOCK) out.push({ offset: o, length: Math.min(BLOCK, size - o) });
  return out;
}

async function writePiece(s: FileStorage, fx: TorrentFixture, piece: number): Promise<void> {
  for (const b of blocksOf(fx.metainfo, piece)) {
    const start = piece * fx.metainfo.pieceLength + b.offset;
    await s.writeBlock(piece, b.offset, fx.content.subarray(start, start + b.length));
  }
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return (err as StorageError).code;
  }
}

describe('FileStorage', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('writes blocks across file boundaries in any order and reads them back byte-identical', async () => {
    const fx = fixture();
    const m = fx.metainfo;
    expect(m.pieceCount).toBe(4);
    const s = new FileStorage({}, { root: dir, layout: m, maxOpenFiles: 2 });
    const writes = [];
    for (let p = 0; p < m.pieceCount; p++) for (const b of blocksOf(m, p)) writes.push({ p, ...b });
    shuffle(new SeededRandom(5), writes);
    for (const w of writes) {
      const start = w.p * PIECE + w.offset;
      await s.writeBlock(w.p, w.offset, fx.content.subarray(start, start + w.length));
    }
    for (let p = 0; p < m.pieceCount; p++) expect(await s.verifyPiece(p)).toBe(true);
    expect(s.completedCount()).toBe(4);
    expect(toHex(s.bitfield())).toBe('f0');

    for (let p = 0; p < m.pieceCount; p++) {
      for (const b of blocksOf(m, p)) {
        const got = await s.readBlock(p, b.offset, b.length);
        const start = p * PIECE + b.offset;
        expect(bytesEqual(got, fx.content.subarray(start, start + b.length))).toBe(true);
      }
    }
    // A block that spans three files (a.bin end, empty.txt, b.bin, into c.bin).
    const cross = await s.readBlock(1, 40000 - PIECE - 10, 30);
    expect(bytesEqual(cross, fx.content.subarray(39990, 40020))).toBe(true);
    // The same into a caller's buffer (reused by the read cache): its start is filled, the rest untouched.
    const into = new Uint8Array(40).fill(0xee);
    const view = await s.readBlock(1, 40000 - PIECE - 10, 30, into);
    expect(view.buffer).toBe(into.buffer);
    expect(bytesEqual(view, fx.content.subarray(39990, 40020))).toBe(true);
    expect(into.subarray(30).every((x) => x === 0xee)).toBe(true);
    await expect(s.readBlock(1, 0, 30, new Uint8Array(29))).rejects.toThrow(RangeError);

    // The files on disk are exactly their slices, and the empty file exists.
    for (const f of m.files) {
      const onDisk = await readFile(join(dir, ...f.path));
      expect(bytesEqual(onDisk, fx.content.subarray(f.offset, f.offset + f.length))).toBe(true);
    }
    expect(s.stats().piecesVerified).toBe(4);
    await s.close();
    expect(await codeOf(s.readBlock(0, 0, 1))).toBe('storage_closed');
  });

  it('reports a piece whose data is wrong and accepts it once fixed', async () => {
    const fx = fixture();
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo });
    await writePiece(s, fx, 2);
    const bad = fx.content.slice(2 * PIECE, 2 * PIECE + BLOCK);
    bad[100] = (bad[100] as number) ^ 0xff;
    await s.writeBlock(2, 0, bad);
    expect(await s.verifyPiece(2)).toBe(false);
    expect(s.have(2)).toBe(false);
    expect(s.stats().piecesFailed).toBe(1);
    await writePiece(s, fx, 2);
    expect(await s.verifyPiece(2)).toBe(true);
    expect(s.have(2)).toBe(true);
    // Late duplicates cannot touch a verified piece.
    await s.writeBlock(2, 0, bad);
    expect(s.stats().writesIgnored).toBe(1);
    expect(await s.verifyPiece(2)).toBe(true);
    // A piece never written is simply not there.
    expect(await s.verifyPiece(0)).toBe(false);
    expect(await codeOf(s.readBlock(0, 0, 10))).toBe('storage_missing');
    await s.close();
  });

  it('checkExisting finds exactly the complete pieces after a partial download', async () => {
    const fx = fixture();
    const first = new FileStorage({}, { root: dir, layout: fx.metainfo });
    await writePiece(first, fx, 0);
    await writePiece(first, fx, 3);
    // Half of piece 1: must not count.
    await first.writeBlock(1, 0, fx.content.subarray(PIECE, PIECE + BLOCK));
    await first.close();

    const again = new FileStorage({}, { root: dir, layout: fx.metainfo });
    const progress: number[] = [];
    const found = await again.checkExisting({ onProgress: (p) => progress.push(p.checked) });
    expect([...found].sort()).toEqual([0, 3]);
    expect(again.have(0) && again.have(3) && !again.have(1) && !again.have(2)).toBe(true);
    expect(progress).toEqual([1, 2, 3, 4]);
    // Writing piece 3 gave the sparse c.bin its full length, so piece 2 (a hole) is read and fails the
    // hash rather than being skipped: the fast path sees sizes, not holes.
    expect(again.stats().piecesSkippedFast).toBe(0);
    expect(again.stats().piecesVerified).toBe(2);
    await again.close();

    // Corrupt one byte on disk: that piece drops out on the next check.
    const aPath = join(dir, 'multi', 'a.bin');
    const a = await readFile(aPath);
    a[5] = (a[5] as number) ^ 1;
    await writeFile(aPath, a);
    const third = new FileStorage({}, { root: dir, layout: fx.metainfo });
    expect([...(await third.checkExisting())]).toEqual([3]);
    await third.close();
  });

  it('skips pieces of missing or short files without reading them', async () => {
    const fx = fixture();
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo });
    for (let p = 0; p < 4; p++) await writePiece(s, fx, p);
    await s.close();
    await truncate(join(dir, 'multi', 'z.bin'), 100);
    const again = new FileStorage({}, { root: dir, layout: fx.metainfo });
    const found = await again.checkExisting();
    expect([...found].sort()).toEqual([0, 1, 2]);
    expect(again.stats().piecesSkippedFast).toBe(1);
    await again.close();
  });

  it('creates nothing when it has nothing and aborts a check on request', async () => {
    const fx = fixture();
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo });
    expect((await s.checkExisting()).size).toBe(0);
    expect(s.stats().piecesSkippedFast).toBe(4);
    await expect(access(join(dir, 'multi'))).rejects.toThrow();
    const ac = new AbortController();
    ac.abort();
    await expect(s.checkExisting({ signal: ac.signal })).rejects.toThrow();
    await s.close();
  });

  it('refuses a layout whose paths leave the root, before touching the disk', async () => {
    const fx = fixture();
    const files = [{ path: ['..', 'escaped.bin'], length: fx.metainfo.totalLength, offset: 0 }];
    const root = join(dir, 'root');
    expect(() => new FileStorage({}, { root, layout: { ...fx.metainfo, files } })).toThrow(
      expect.objectContaining({ code: 'storage_path_escape' }),
    );
    const abs = [{ path: ['/etc', 'passwd'], length: fx.metainfo.totalLength, offset: 0 }];
    expect(() => new FileStorage({}, { root, layout: { ...fx.metainfo, files: abs } })).toThrow(StorageError);
    await expect(access(join(dir, 'escaped.bin'))).rejects.toThrow();
  });

  it('checks block bounds', async () => {
    const fx = fixture();
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo });
    const last = fx.metainfo.pieceCount - 1;
    const lastSize = fx.metainfo.totalLength - last * PIECE;
    expect(await codeOf(s.writeBlock(4, 0, new Uint8Array(1)))).toBe('storage_out_of_range');
    expect(await codeOf(s.writeBlock(-1, 0, new Uint8Array(1)))).toBe('storage_out_of_range');
    expect(await codeOf(s.writeBlock(last, lastSize - 1, new Uint8Array(2)))).toBe('storage_out_of_range');
    expect(await codeOf(s.readBlock(0, PIECE, 1))).toBe('storage_out_of_range');
    expect(await codeOf(s.readBlock(0, 1.5, 1))).toBe('storage_out_of_range');
    expect(await codeOf(s.verifyPiece(9))).toBe('storage_out_of_range');
    expect(s.have(9)).toBe(false);
    await s.close();
  });

  it('read-only storage serves existing data and refuses writes', async () => {
    const fx = makeTorrent({ files: [{ path: ['one.bin'], length: 50000 }], pieceLength: PIECE });
    await writeFile(join(dir, 'one.bin'), fx.content);
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo, readOnly: true });
    expect([...(await s.checkExisting())]).toEqual([0, 1]);
    expect(bytesEqual(await s.readBlock(1, 0, 100), fx.content.subarray(PIECE, PIECE + 100))).toBe(true);
    expect(await codeOf(s.writeBlock(0, 0, new Uint8Array(1)))).toBe('storage_read_only');
    expect((await stat(join(dir, 'one.bin'))).size).toBe(50000);
    await s.close();
  });

  it('reports a full disk with storage_disk_full and keeps the piece incomplete', async () => {
    // /dev/full fails every write with ENOSPC: a real disk-full error without filling a disk.
    const fx = makeTorrent({ files: [{ path: ['one.bin'], length: 50000 }], pieceLength: PIECE });
    await symlink('/dev/full', join(dir, 'one.bin'));
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo });
    expect(await codeOf(s.writeBlock(0, 0, fx.content.subarray(0, BLOCK)))).toBe('storage_disk_full');
    expect(s.have(0)).toBe(false);
    expect(s.stats().bytesWritten).toBe(0);
    await s.close();
  });

  it('reports a folder where a file should be', async () => {
    const fx = makeTorrent({ files: [{ path: ['one.bin'], length: 50000 }], pieceLength: PIECE });
    await mkdir(join(dir, 'one.bin'));
    const s = new FileStorage({}, { root: dir, layout: fx.metainfo });
    expect(await codeOf(s.checkExisting())).toBe('storage_not_a_file');
    expect(await codeOf(s.writeBlock(0, 0, new Uint8Array(1)))).toBe('storage_not_a_file');
    await s.close();
  });
});

describe('FileStorage with BEP 47 padding files', () => {
  it('reads padding as zeros, never writes it, and verifies pieces around it', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const a = new SeededRandom(8).bytes(20000);
      const b = new SeededRandom(9).bytes(5000);
      const pad = PIECE - 20000;
      const content = concatBytes([a, new Uint8Array(pad), b]);
      const info = {
        name: 'hy',
        'piece length': PIECE,
        pieces: hashPieces(content, PIECE),
        files: [
          { length: 20000, path: ['a'] },
          { attr: 'p', length: pad, path: ['.pad', String(pad)] },
          { length: 5000, path: ['b'] },
        ],
      };
      const m = parseMetainfo(encode({ info }));
      expect(m.files.map((f) => f.padding === true)).toEqual([false, true, false]);
      const s = new FileStorage({}, { root: dir, layout: m });
      // A peer's padding bytes are dropped: even garbage there leaves the piece verifiable.
      await s.writeBlock(0, 0, concatBytes([a, new Uint8Array(pad).fill(0xee)]));
      await s.writeBlock(1, 0, b);
      expect(await s.verifyPiece(0)).toBe(true);
      expect(await s.verifyPiece(1)).toBe(true);
      expect(bytesEqual(await s.readBlock(0, 19990, 20), content.subarray(19990, 20010))).toBe(true);
      await s.close();
      await expect(access(join(dir, 'hy', '.pad'))).rejects.toThrow();
      const again = new FileStorage({}, { root: dir, layout: m, readOnly: true });
      expect([...(await again.checkExisting())]).toEqual([0, 1]);
      await again.close();
    } finally {
      await cleanup();
    }
  });
});

describe('mapFsError', () => {
  const err = (code: string): Error => Object.assign(new Error(code), { code });
  it('gives stable codes for disk full, read-only, missing and other failures', () => {
    expect(mapFsError(err('ENOSPC'), '/x', true).code).toBe('storage_disk_full');
    expect(mapFsError(err('EDQUOT'), '/x', true).code).toBe('storage_disk_full');
    expect(mapFsError(err('EROFS'), '/x', true).code).toBe('storage_read_only');
    expect(mapFsError(err('EACCES'), '/x', true).code).toBe('storage_read_only');
    expect(mapFsError(err('EACCES'), '/x', false).code).toBe('storage_unreadable');
    expect(mapFsError(err('ENOENT'), '/x', false).code).toBe('storage_missing');
    expect(mapFsError(err('EIO'), '/x', false).code).toBe('storage_io');
    expect(mapFsError(err('ENOSPC'), '/x', true).cause).toBeInstanceOf(Error);
  });
});
