import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  choosePieceLength,
  createTorrentFromMemory,
  createTorrentFromPath,
  writeTorrentFile,
  CreateError,
} from '../../src/app/create.js';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { parseMagnet } from '../../src/codec/magnet.js';
import { main } from '../../src/cli/cli.js';
import { CliError } from '../../src/cli/exit-codes.js';
import { FileStorage } from '../../src/storage/file-storage.js';
import { SeededRandom } from '../../src/util/random.js';
import { bytesEqual, concatBytes, toHex } from '../../src/util/bytes.js';
import { hashPieces, tempDir } from '../support/torrent-fixture.js';

const rnd = new SeededRandom(77);
const A = rnd.bytes(300_000);
const B = rnd.bytes(5);
const C = rnd.bytes(123_457);

/** A folder with nested files, an empty file, and links in and out of it. */
async function makeTree(dir: string): Promise<string> {
  const root = join(dir, 'share');
  await mkdir(join(root, 'sub', 'deep'), { recursive: true });
  await writeFile(join(root, 'b.txt'), B);
  await writeFile(join(root, 'a.bin'), A);
  await writeFile(join(root, 'sub', 'deep', 'c.bin'), C);
  await writeFile(join(root, 'sub', 'empty'), new Uint8Array(0));
  await writeFile(join(dir, 'outside.bin'), new Uint8Array(10));
  await symlink(join(dir, 'outside.bin'), join(root, 'leak'));
  await symlink(join(root, 'b.txt'), join(root, 'link-to-b'));
  await symlink(join(root, 'sub'), join(root, 'loop'));
  return root;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('choosePieceLength', () => {
  it('starts at 256 KiB and keeps the count near 1000-2000, up to 16 MiB', () => {
    expect(choosePieceLength(1)).toBe(256 * 1024);
    expect(choosePieceLength(500 * 2 ** 20)).toBe(256 * 1024);
    expect(choosePieceLength(2 ** 30)).toBe(2 ** 20);
    expect(choosePieceLength(4 * 2 ** 30)).toBe(4 * 2 ** 20);
    expect(choosePieceLength(2 ** 45)).toBe(16 * 2 ** 20);
    for (const size of [600 * 2 ** 20, 3 * 2 ** 30, 20 * 2 ** 30]) {
      const n = Math.ceil(size / choosePieceLength(size));
      expect(n).toBeGreaterThan(1000);
      expect(n).toBeLessThanOrEqual(2000);
    }
  });
});

describe('createTorrentFromPath', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('builds a multi-file torrent in sorted order that parses back and verifies', async () => {
    const root = await makeTree(dir);
    const progress: number[] = [];
    const made = await createTorrentFromPath({ wallClockMs: () => 1_700_000_000_000 }, root, {
      pieceLength: 65536,
      trackers: ['http://127.0.0.1:1/announce'],
      comment: 'test',
      onProgress: (p) => progress.push(p.bytesHashed),
    });
    const m = parseMetainfo(made.torrent);
    expect(m.name).toBe('share');
    expect(m.files.map((f) => f.path.join('/'))).toEqual(['share/a.bin', 'share/b.txt', 'share/link-to-b', 'share/sub/deep/c.bin', 'share/sub/empty']);
    const content = concatBytes([A, B, B, C]);
    expect(m.totalLength).toBe(content.length);
    expect(toHex(m.pieces)).toBe(toHex(hashPieces(content, 65536)));
    expect(m.creationDate).toBe(1_700_000_000);
    expect(m.comment).toBe('test');
    expect(m.createdBy).toMatch(/^dht-node/);
    expect(made.infoHashHex).toBe(toHex(m.infoHash));
    expect(toHex(parseMagnet(made.magnet).infoHash)).toBe(made.infoHashHex);
    expect(parseMagnet(made.magnet).trackers).toEqual(['http://127.0.0.1:1/announce']);
    expect(made.skipped.map((s) => s.path).sort()).toEqual(['leak', 'loop']);
    expect(progress.at(-1)).toBe(content.length);

    // Stable: another run (different time, comment) gives the same infohash.
    const again = await createTorrentFromPath({ wallClockMs: () => 5 }, root, { pieceLength: 65536 });
    expect(again.infoHashHex).toBe(made.infoHashHex);

    // The files it describes verify in place with the storage backend.
    const storage = new FileStorage({}, { root: dir, layout: m, readOnly: true });
    expect((await storage.checkExisting()).size).toBe(m.pieceCount);
    await storage.close();
  });

  it('builds a single-file torrent with an automatic piece length', async () => {
    const file = join(dir, 'one.bin');
    await writeFile(file, C);
    const made = await createTorrentFromPath({}, file, { creationDate: null });
    const m = made.metainfo;
    expect(m.multiFile).toBe(false);
    expect(m.name).toBe('one.bin');
    expect(m.pieceLength).toBe(256 * 1024);
    expect(m.pieceCount).toBe(1);
    expect(m.creationDate).toBeUndefined();
    expect(toHex(m.pieces)).toBe(toHex(hashPieces(C, 256 * 1024)));
  });

  it('agrees with createTorrentFromMemory on the same content', async () => {
    const root = join(dir, 'mem');
    await mkdir(root);
    await writeFile(join(root, 'x'), A);
    await writeFile(join(root, 'y'), C);
    const fromDisk = await createTorrentFromPath({}, root, { creationDate: null });
    const fromMemory = createTorrentFromMemory({}, { name: 'mem', files: [{ path: ['x'], data: A }, { path: ['y'], data: C }] }, { creationDate: null });
    expect(fromMemory.infoHashHex).toBe(fromDisk.infoHashHex);
    expect(bytesEqual(fromMemory.torrent, fromDisk.torrent)).toBe(true);
    const single = createTorrentFromMemory({}, { name: 'blob', data: B }, { pieceLength: 16384 });
    expect(single.metainfo.totalLength).toBe(5);
  });

  it('refuses missing, empty and badly sized input with typed errors', async () => {
    expect(await codeOf(createTorrentFromPath({}, join(dir, 'nope')))).toBe('create_not_found');
    await mkdir(join(dir, 'empty', 'sub'), { recursive: true });
    await writeFile(join(dir, 'empty', 'sub', 'zero'), new Uint8Array(0));
    expect(await codeOf(createTorrentFromPath({}, join(dir, 'empty')))).toBe('create_empty');
    await writeFile(join(dir, 'f'), B);
    expect(await codeOf(createTorrentFromPath({}, join(dir, 'f'), { pieceLength: 1000 }))).toBe('create_bad_piece_length');
    expect(() => createTorrentFromMemory({}, { name: 'e', data: new Uint8Array(0) })).toThrow(CreateError);
    const ac = new AbortController();
    ac.abort();
    await expect(createTorrentFromPath({}, join(dir, 'f'), { signal: ac.signal })).rejects.toThrow();
  });

  it('writes atomically and keeps an existing file unless forced', async () => {
    const out = join(dir, 't.torrent');
    await writeTorrentFile(out, new Uint8Array([1]));
    expect(await codeOf(writeTorrentFile(out, new Uint8Array([2])))).toBe('create_output_exists');
    expect([...(await readFile(out))]).toEqual([1]);
    await writeTorrentFile(out, new Uint8Array([3]), { force: true });
    expect([...(await readFile(out))]).toEqual([3]);
  });
});

describe('dht-node create (CLI)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let lines: string[];
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await cleanup();
  });

  it('writes the torrent and prints one created event with --json', async () => {
    const root = await makeTree(dir);
    const out = join(dir, 'out.torrent');
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await main(['create', root, '-o', out, '--piece-length', '64k', '--tracker', 'http://a/', '--tracker', 'http://b/', '--json']);
    const events = lines.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(1);
    const ev = events[0] as Record<string, unknown>;
    const m = parseMetainfo(await readFile(out));
    expect(ev).toMatchObject({ event: 'created', infohash: toHex(m.infoHash), file: out, pieces: m.pieceCount, pieceLength: 65536, bytes: m.totalLength });
    expect(m.trackers).toEqual(['http://a/', 'http://b/']);
    expect(String(ev.magnet)).toContain(toHex(m.infoHash));
  });

  it('defaults to <name>.torrent in the current folder and prints human output', async () => {
    await writeFile(join(dir, 'data.bin'), C);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await main(['create', 'data.bin']);
    } finally {
      process.chdir(cwd);
    }
    const m = parseMetainfo(await readFile(join(dir, 'data.bin.torrent')));
    const text = lines.join('');
    expect(text).toContain(`infohash ${toHex(m.infoHash)}`);
    expect(text).toContain('magnet:?xt=urn:btih:');
  });

  it('exits 2 for unreadable input or a bad piece length, 1 when the output exists', async () => {
    const fails = async (argv: string[]): Promise<number | undefined> => {
      try {
        await main(argv);
        return undefined;
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        return (err as CliError).exitCode;
      }
    };
    expect(await fails(['create', join(dir, 'missing')])).toBe(2);
    await writeFile(join(dir, 'f'), B);
    expect(await fails(['create', join(dir, 'f'), '--piece-length', '3k', '-o', join(dir, 'x.torrent')])).toBe(2);
    expect(await fails(['create', join(dir, 'f'), '--piece-length', 'big'])).toBe(2);
    await writeFile(join(dir, 'exists.torrent'), 'x');
    expect(await fails(['create', join(dir, 'f'), '-o', join(dir, 'exists.torrent')])).toBe(1);
  });
});
