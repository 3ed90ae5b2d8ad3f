/**
 * Magnet links with libtorrent 2.0 (issue 5): metadata over BEP 9/10 and data over BEP 3, peers found
 * through the DHT or named in the link. One small DHT on loopback, built from our code: our `bootstrap`
 * node, four of our `run` nodes (where announces are stored), and libtorrent nodes bootstrapped from our
 * bootstrap node alone.
 *
 * - our `download <magnet>` (info-hash only: no tracker, no x.pe, no name) of a torrent a libtorrent
 *   seeder announced on that DHT: found through the DHT alone, metadata from libtorrent, byte-identical;
 * - libtorrent downloads by magnet link from our `seed`, given our address in the link's x.pe (its DHT off);
 * - libtorrent downloads by a bare magnet link from our `seed`, finding it through the DHT (our seed's
 *   announce), byte-identical.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { num, ProcessGroup, requireLibtorrent, requireOurCommand, str } from '../support/processes.js';
import {
  bareMagnet,
  expectSameFile,
  hostPort,
  libtorrentDownload,
  ourDownload,
  ourLookupFinds,
  ourSeed,
  readyEndpoint,
  setupOrFail,
  startOurNodes,
  writePatternFile,
  type Endpoint,
} from './network.js';

// This file's addresses: 127.0.60.0/24 libtorrent, 127.0.61.0/24 ours.
const OURS_BOOTSTRAP_HOST = '127.0.61.1';
/** Our run nodes get 127.0.61.11, .12, ... */
const OURS_RUN_PREFIX = '127.0.61.1';
const OURS_RUN_COUNT = 4;
const OURS_SEED_HOST = '127.0.61.2';
const OURS_LOOKUP_HOST = '127.0.61.50';
const OURS_DOWNLOAD_HOST = '127.0.61.51';
const LT_SEEDER_HOST = '127.0.60.1';
const LT_XPE_LEECHER_HOST = '127.0.60.2';
const LT_DHT_LEECHER_HOST = '127.0.60.3';
/** A few MiB and a bit: many pieces, a short last one. */
const DATA_BYTES = 2 * 1024 * 1024 + 54_321;
/** Our seed's announce: how long until it reports the DHT accepted it. */
const ANNOUNCE_WAIT_MS = 60_000;

describe('magnet links with libtorrent', () => {
  const group = new ProcessGroup();
  let scratch = '';
  let bootstrap: Endpoint = { host: OURS_BOOTSTRAP_HOST, port: 0 };

  const setupDone = setupOrFail(beforeAll, async () => {
    requireLibtorrent();
    for (const cmd of ['bootstrap', 'run', 'lookup', 'seed', 'download']) requireOurCommand(cmd);
    scratch = mkdtempSync(join(tmpdir(), 'interop-magnet-'));
    const boot = group.cli(`ours bootstrap ${OURS_BOOTSTRAP_HOST}`, [
      'bootstrap', '--bind', OURS_BOOTSTRAP_HOST, '--port', '0', '--allow-local', '--ping-delay', '0.2',
      '--ip-rate-limit', '0', '--json', '--state-dir', group.tempDir('interop-bootstrap-state-'),
    ]);
    bootstrap = readyEndpoint(OURS_BOOTSTRAP_HOST, await boot.ready());
    await startOurNodes(group, OURS_RUN_PREFIX, OURS_RUN_COUNT, [bootstrap]);
  });
  afterAll(async () => {
    await group.stopAll();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('our download of a bare magnet link finds a libtorrent seeder through the DHT and fetches metadata and data', async () => {
    setupDone();
    const srcDir = join(scratch, 'lt-seed');
    const outDir = join(scratch, 'ours-download');
    mkdirSync(srcDir);
    mkdirSync(outDir);
    const file = join(srcDir, 'magnet-from-libtorrent.bin');
    writePatternFile(file, DATA_BYTES, 'magnet-a');
    const seeder = group.libtorrent(`libtorrent seeder ${LT_SEEDER_HOST}`, [
      '--bind', LT_SEEDER_HOST, '--bootstrap', hostPort(bootstrap), '--seed', file,
    ]);
    await seeder.ready();
    const seeding = await seeder.waitFor((e) => e.event === 'seeding', 30_000, 'seeding');
    const infohash = str(seeding, 'infohash');
    const seederAt = { host: LT_SEEDER_HOST, port: num(seeding, 'tcpPort') };
    // Our download looks the info-hash up once at start (then every few minutes): first let libtorrent's
    // announce (repeated every 5 s) reach our nodes, as seen by our own lookup from the bootstrap node.
    await ourLookupFinds(group, { infohash, bind: OURS_LOOKUP_HOST, bootstrap: [bootstrap] }, seederAt);

    const r = await ourDownload(group, { source: bareMagnet(infohash), bind: OURS_DOWNLOAD_HOST, out: outDir, bootstrap: [bootstrap], dht: true });
    expect(r.exitCode).toBe(0);
    expect(str(r.metadata, 'infohash')).toBe(infohash);
    expect(str(r.metadata, 'name')).toBe('magnet-from-libtorrent.bin');
    expect(num(r.complete, 'bytes')).toBe(DATA_BYTES);
    expectSameFile(join(outDir, 'magnet-from-libtorrent.bin'), file);
    console.info(`magnet from libtorrent over our DHT: metadata after ${num(r.metadata, 'ms')} ms, complete after ${num(r.complete, 'ms')} ms`);
  });

  /** Our seed of a fresh file, announced on the DHT (`seed <file>` makes the torrent itself). */
  let ourSeeder: { file: string; infohash: string; at: Endpoint } | undefined;
  const startOurSeeder = async () => {
    if (ourSeeder) return ourSeeder;
    const srcDir = join(scratch, 'ours-seed');
    mkdirSync(srcDir);
    const file = join(srcDir, 'magnet-to-libtorrent.bin');
    writePatternFile(file, DATA_BYTES, 'magnet-b');
    const seed = await ourSeed(group, { path: file, bind: OURS_SEED_HOST, bootstrap: [bootstrap], dht: true });
    const infohash = str(seed.ready, 'infohash');
    expect(str(seed.ready, 'magnet')).toContain(`xt=urn:btih:${infohash}`);
    ourSeeder = { file, infohash, at: seed.at };
    // `announced` reports how many nodes took the announce; libtorrent can only find us once some did.
    const announced = await seed.proc.waitFor((e) => e.event === 'announced' && num(e, 'nodes') > 0, ANNOUNCE_WAIT_MS, 'an accepted announce');
    expect(num(announced, 'nodes')).toBeGreaterThan(0);
    return ourSeeder;
  };

  it("libtorrent downloads by magnet link from our seed named in the link's x.pe (metadata from us)", async () => {
    setupDone();
    const { file, infohash, at } = await startOurSeeder();
    const savePath = join(scratch, 'lt-xpe');
    mkdirSync(savePath);
    const r = await libtorrentDownload(group, {
      source: bareMagnet(infohash, [at]),
      bind: LT_XPE_LEECHER_HOST,
      savePath,
      extra: ['--no-dht'],
    });
    expect(str(r.metadata, 'infohash')).toBe(infohash);
    expect(num(r.complete, 'bytes')).toBe(DATA_BYTES);
    expectSameFile(join(savePath, 'magnet-to-libtorrent.bin'), file);
    expect(r.proc.events.some((e) => e.event === 'peer_connected' && e.host === at.host && e.port === at.port)).toBe(true);
    console.info(`libtorrent magnet from our seed via x.pe: metadata after ${num(r.metadata, 'ms')} ms, complete after ${num(r.complete, 'ms')} ms`);
  });

  it('libtorrent downloads by a bare magnet link from our seed, finding it through the DHT', async () => {
    setupDone();
    const { file, infohash } = await startOurSeeder();
    const savePath = join(scratch, 'lt-dht');
    mkdirSync(savePath);
    const r = await libtorrentDownload(group, {
      source: bareMagnet(infohash),
      bind: LT_DHT_LEECHER_HOST,
      savePath,
      extra: ['--bootstrap', hostPort(bootstrap)],
    });
    expect(str(r.metadata, 'infohash')).toBe(infohash);
    expect(num(r.complete, 'bytes')).toBe(DATA_BYTES);
    expectSameFile(join(savePath, 'magnet-to-libtorrent.bin'), file);
    // The link named no peer and libtorrent's DHT knew only our nodes: our seed came from its announce.
    expect(r.proc.events.some((e) => e.event === 'peer_connected' && e.host === OURS_SEED_HOST)).toBe(true);
    console.info(`libtorrent bare magnet from our seed over our DHT: metadata after ${num(r.metadata, 'ms')} ms, complete after ${num(r.complete, 'ms')} ms`);
  });
});
