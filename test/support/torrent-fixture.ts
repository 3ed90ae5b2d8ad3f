/**
 * Test torrents made in the test (no fixture files): seeded content, piece hashes computed independently of
 * src/app/create.ts (plain SHA-1 over slices), and the .torrent bytes built with the bencode encoder.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, type EncodableValue } from '../../src/codec/bencode.js';
import { parseMetainfo, type Metainfo } from '../../src/codec/metainfo.js';
import { SeededRandom } from '../../src/util/random.js';

export interface FixtureFile {
  path: string[];
  length: number;
}

export interface TorrentFixture {
  /** All files concatenated. */
  content: Uint8Array;
  /** The info dictionary as an encodable value (tweak it for hostile tests). */
  info: Record<string, EncodableValue | undefined>;
  torrent: Uint8Array;
  metainfo: Metainfo;
}

/** SHA-1 of each piece of `content`, concatenated. */
export function hashPieces(content: Uint8Array, pieceLength: number): Uint8Array {
  const count = Math.ceil(content.length / pieceLength);
  const out = new Uint8Array(count * 20);
  for (let i = 0; i < count; i++) {
    out.set(createHash('sha1').update(content.subarray(i * pieceLength, (i + 1) * pieceLength)).digest(), i * 20);
  }
  return out;
}

/**
 * A torrent over seeded random content. With one file and `single` (default when one file is given and
 * its path has one component), a single-file torrent named after it; otherwise multi-file named `name`.
 */
export function makeTorrent(options: { name?: string; files: FixtureFile[]; pieceLength?: number; seed?: number; single?: boolean }): TorrentFixture {
  const pieceLength = options.pieceLength ?? 16384;
  const total = options.files.reduce((n, f) => n + f.length, 0);
  const content = new SeededRandom(options.seed ?? 1).bytes(total);
  const single = options.single ?? (options.files.length === 1 && options.files[0]?.path.length === 1);
  const info: Record<string, EncodableValue | undefined> = {
    'piece length': pieceLength,
    pieces: hashPieces(content, pieceLength),
  };
  if (single) {
    info.name = options.files[0]?.path[0] ?? 'file';
    info.length = total;
  } else {
    info.name = options.name ?? 'torrent';
    info.files = options.files.map((f) => ({ length: f.length, path: f.path }));
  }
  const torrent = encode({ announce: 'http://127.0.0.1:6969/announce', info });
  return { content, info, torrent, metainfo: parseMetainfo(torrent) };
}

/** A fresh temp folder and its cleanup. */
export async function tempDir(prefix = 'dht-node-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
