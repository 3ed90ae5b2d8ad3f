/**
 * Peer wire interop with libtorrent 2.0 (issue 4), DHT off on both sides so only BEP 3/10 is exercised:
 * each side is told the other's address. Data is a few MiB of reproducible pseudo-random bytes, cut into
 * many pieces with a short last piece; every transfer must come out byte-identical.
 *
 * - our `download <file.torrent> --peer` from a libtorrent seeder (libtorrent made the .torrent);
 * - a libtorrent leecher from our `seed` (we made the .torrent with `create`), once with libtorrent's
 *   default encryption policy (it opens with MSE; our listener answers and selects plaintext: docs/wire.md)
 *   and once with encryption disabled.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, num, ProcessGroup, REPO_ROOT, requireLibtorrent, requireOurCommand, str } from '../support/processes.js';
import { expectSameFile, libtorrentDownload, ourDownload, ourSeed, setupOrFail, writePatternFile } from './network.js';

// This file's addresses: 127.0.50.0/24 libtorrent, 127.0.51.0/24 ours.
const LT_SEEDER_HOST = '127.0.50.1';
const LT_LEECHER_HOST = '127.0.50.2';
const LT_PLAIN_LEECHER_HOST = '127.0.50.3';
const OURS_DOWNLOAD_HOST = '127.0.51.1';
const OURS_SEED_HOST = '127.0.51.2';
/** 3 MiB and a bit: libtorrent picks 32 KiB pieces for it (97 pieces), our `create` is told 64 KiB (49). */
const DATA_BYTES = 3 * 1024 * 1024 + 12_345;
/** Our torrent's piece length: not a divisor of DATA_BYTES, so the last piece is 12,345 bytes. */
const OUR_PIECE_LENGTH = '64k';
/** How long our seed may take to count the upload in a stats event (it prints one about once a second). */
const STATS_WAIT_MS = 10_000;

describe('peer wire interop with libtorrent', () => {
  const group = new ProcessGroup();
  let scratch = '';

  const setupDone = setupOrFail(beforeAll, async () => {
    requireLibtorrent();
    requireOurCommand('download');
    requireOurCommand('seed');
    requireOurCommand('create');
    scratch = mkdtempSync(join(tmpdir(), 'interop-wire-'));
  });
  afterAll(async () => {
    await group.stopAll();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('our download fetches a torrent from a libtorrent seeder, byte-identical', async () => {
    setupDone();
    const srcDir = join(scratch, 'lt-seed');
    const outDir = join(scratch, 'ours-download');
    mkdirSync(srcDir);
    mkdirSync(outDir);
    const file = join(srcDir, 'from-libtorrent.bin');
    writePatternFile(file, DATA_BYTES, 'wire-a');
    const torrent = join(scratch, 'from-libtorrent.torrent');
    const seeder = group.libtorrent(`libtorrent seeder ${LT_SEEDER_HOST}`, [
      '--bind', LT_SEEDER_HOST, '--no-dht', '--seed', file, '--write-torrent', torrent,
    ]);
    await seeder.ready();
    const seeding = await seeder.waitFor((e) => e.event === 'seeding', 30_000, 'seeding');

    const r = await ourDownload(group, {
      source: torrent,
      bind: OURS_DOWNLOAD_HOST,
      out: outDir,
      peers: [{ host: LT_SEEDER_HOST, port: num(seeding, 'tcpPort') }],
      dht: false,
    });
    expect(r.exitCode).toBe(0);
    expect(str(r.metadata, 'infohash')).toBe(str(seeding, 'infohash'));
    expect(num(r.complete, 'bytes')).toBe(DATA_BYTES);
    expectSameFile(join(outDir, 'from-libtorrent.bin'), file);
  });

  /** Makes our .torrent of a fresh file with `create` and seeds it with `seed`. */
  const startOurSeed = async (name: string) => {
    const srcDir = join(scratch, `ours-seed-${name}`);
    mkdirSync(srcDir);
    const file = join(srcDir, `${name}.bin`);
    writePatternFile(file, DATA_BYTES, `wire-${name}`);
    const torrent = join(scratch, `${name}.torrent`);
    const made = spawnSync(process.execPath, [CLI_PATH, 'create', file, '--out', torrent, '--piece-length', OUR_PIECE_LENGTH, '--json'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(made.status, `create: ${made.stderr}${made.stdout}`).toBe(0);
    const seed = await ourSeed(group, { path: torrent, out: srcDir, bind: OURS_SEED_HOST, dht: false });
    return { file, torrent, seed };
  };

  const leechFromOurSeed = async (name: string, leecherHost: string, extra: string[]) => {
    const { file, torrent, seed } = await startOurSeed(name);
    const savePath = join(scratch, `lt-download-${name}`);
    mkdirSync(savePath);
    const r = await libtorrentDownload(group, { source: torrent, bind: leecherHost, savePath, peers: [seed.at], extra: ['--no-dht', ...extra] });
    expect(str(r.complete, 'infohash')).toBe(str(seed.ready, 'infohash'));
    expect(num(r.complete, 'bytes')).toBe(DATA_BYTES);
    expect(num(r.metadata, 'pieces')).toBe(Math.ceil(DATA_BYTES / (64 * 1024)));
    expectSameFile(join(savePath, `${name}.bin`), file);
    // Our seed counts the payload it sent (the contract's stats event).
    await seed.proc.waitFor((e) => e.event === 'stats' && num(e, 'uploaded') >= DATA_BYTES, STATS_WAIT_MS, 'stats with the upload counted');
    await seed.proc.stop();
    return r;
  };

  it('a libtorrent leecher with its default policy (MSE first) downloads from our seed on its first connection, byte-identical', async () => {
    setupDone();
    const r = await leechFromOurSeed('to-libtorrent', LT_LEECHER_HOST, []);
    // Our seed's listener answers the encrypted opening (selecting plaintext), so no retry is needed.
    expect(r.proc.events.filter((e) => e.event === 'peer_connected')).toHaveLength(1);
  });

  it('a libtorrent leecher with encryption disabled downloads from our seed, byte-identical', async () => {
    setupDone();
    const r = await leechFromOurSeed('to-libtorrent-plain', LT_PLAIN_LEECHER_HOST, ['--enc', 'disabled']);
    // Plaintext only: the first connection is the one that carries the data.
    expect(r.proc.events.filter((e) => e.event === 'peer_connected')).toHaveLength(1);
  });
});
