/**
 * Trackerless end to end on loopback (issue 5), all our own processes: a bootstrap node, DHT nodes, seeders
 * and a leecher given only the infohash. The leecher finds seeders through the DHT, fetches the metadata
 * (BEP 9), downloads, and the file is byte-identical; also with three seeders holding different parts.
 * Then the HTTP tracker fallback with the DHT off, against a real tracker server (bittorrent-tracker).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDht } from '../../src/app/dht.js';
import { toHex } from '../../src/util/bytes.js';
import { ProcessGroup, requireOurCommand, type JsonLineProcess } from '../support/processes.js';
import { makeTorrent, tempDir } from '../support/torrent-fixture.js';
import { startTrackerServer } from '../support/tracker-server.js';
import { startLoopbackNetwork, stopAll } from '../support/udp-nodes.js';

const NET = '127.0.11.';
const PIECE = 65536;

describe('magnet downloads on loopback', () => {
  const procs = new ProcessGroup();
  let nodes: RunningDht[] = [];
  let dir = '';
  let cleanup: () => Promise<void> = async () => undefined;
  let bootstrap = '';
  let next = 20;
  const host = (): string => `${NET}${next++}`;

  beforeAll(async () => {
    requireOurCommand('download');
    ({ dir, cleanup } = await tempDir('dht-node-magnet-'));
    const boot = procs.cli('bootstrap', ['bootstrap', '--bind', `${NET}1`, '--dht-port', '0', '--allow-local', '--ping-delay', '0.2', '--state-dir', join(dir, 'boot'), '--json']);
    const ready = await boot.ready();
    bootstrap = `${NET}1:${String(ready.dhtPort)}`;
    // A few ordinary DHT nodes to store announces (a bootstrap node does not).
    nodes = await startLoopbackNetwork(8, 200, {});
    const entry = nodes[0]!.transport.local;
    for (const n of nodes) n.node.setBootstrap([{ host: `${NET}1`, port: Number(ready.dhtPort) }, entry]);
    await Promise.all(nodes.map((n) => n.node.bootstrap()));
  });

  afterAll(async () => {
    await procs.stopAll();
    await stopAll(nodes);
    await cleanup();
  });

  const dhtArgs = (h: string, state: string) => ['--bind', h, '--port', '0', '--allow-local', '--bootstrap', bootstrap, '--bootstrap', `${nodes[0]!.transport.local.host}:${nodes[0]!.transport.local.port}`, '--state-dir', join(dir, state), '--json'];

  async function seed(name: string, torrentPath: string, out: string): Promise<JsonLineProcess> {
    const p = procs.cli(name, ['seed', torrentPath, '--out', out, ...dhtArgs(host(), name)]);
    await p.ready();
    await p.waitFor((e) => e.event === 'announced' && (e.nodes as number) > 0, 20_000, 'an announce on the DHT');
    return p;
  }

  it('downloads from an infohash alone, through the DHT', async () => {
    const t = makeTorrent({ files: [{ path: ['alone.bin'], length: 3 * PIECE + 1234 }], pieceLength: PIECE, seed: 11 });
    const seedDir = join(dir, 's1');
    await mkdir(seedDir, { recursive: true });
    await writeFile(join(seedDir, 'alone.bin'), t.content);
    await writeFile(join(dir, 'alone.torrent'), t.torrent);
    await seed('seeder-1', join(dir, 'alone.torrent'), seedDir);

    const out = join(dir, 'dl1');
    const leecher = procs.cli('leecher-1', ['download', toHex(t.metainfo.infoHash), '--out', out, '--timeout', '30', ...dhtArgs(host(), 'leecher-1')]);
    const meta = await leecher.waitFor((e) => e.event === 'metadata', 30_000, 'metadata');
    expect(meta.name).toBe('alone.bin');
    await leecher.waitFor((e) => e.event === 'complete', 30_000, 'complete');
    expect((await leecher.waitExit(10_000)).code).toBe(0);
    expect(Buffer.compare(await readFile(join(out, 'alone.bin')), t.content)).toBe(0);
  });

  it('assembles a file from three seeders that each hold a different third', async () => {
    const t = makeTorrent({ files: [{ path: ['parts.bin'], length: 12 * PIECE - 999 }], pieceLength: PIECE, seed: 12 });
    await writeFile(join(dir, 'parts.torrent'), t.torrent);
    for (let s = 0; s < 3; s++) {
      const partial = new Uint8Array(t.content.length); // zeros: pieces that will fail their hash
      const from = s * 4 * PIECE;
      partial.set(t.content.subarray(from, Math.min(t.content.length, from + 4 * PIECE)), from);
      const d = join(dir, `part${s}`);
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'parts.bin'), partial);
      const p = await seed(`part-seeder-${s}`, join(dir, 'parts.torrent'), d);
      expect((p.events.find((e) => e.event === 'ready')!.have as number)).toBe(4);
    }
    const out = join(dir, 'dl2');
    const leecher = procs.cli('leecher-2', ['download', toHex(t.metainfo.infoHash), '--out', out, '--timeout', '40', ...dhtArgs(host(), 'leecher-2')]);
    await leecher.waitFor((e) => e.event === 'complete', 40_000, 'complete');
    expect((await leecher.waitExit(10_000)).code).toBe(0);
    expect(Buffer.compare(await readFile(join(out, 'parts.bin')), t.content)).toBe(0);
  });

  it('falls back to an HTTP tracker with the DHT off', async () => {
    const tracker = await startTrackerServer({ intervalS: 60 });
    try {
      const t = makeTorrent({ files: [{ path: ['tracked.bin'], length: 2 * PIECE + 77 }], pieceLength: PIECE, seed: 13 });
      const seedDir = join(dir, 's3');
      await mkdir(seedDir, { recursive: true });
      await writeFile(join(seedDir, 'tracked.bin'), t.content);
      await writeFile(join(dir, 'tracked.torrent'), t.torrent);
      const noDht = (h: string) => ['--bind', h, '--port', '0', '--allow-local', '--no-dht', '--tracker', tracker.announceUrl, '--json'];
      const seeder = procs.cli('tracked-seeder', ['seed', join(dir, 'tracked.torrent'), '--out', seedDir, ...noDht(host())]);
      const ready = await seeder.ready();
      expect(ready.dhtPort).toBeUndefined();
      const magnet = `magnet:?xt=urn:btih:${toHex(t.metainfo.infoHash)}`;
      const out = join(dir, 'dl3');
      const leecher = procs.cli('tracked-leecher', ['download', magnet, '--out', out, '--timeout', '30', ...noDht(host())]);
      await leecher.waitFor((e) => e.event === 'complete', 30_000, 'complete');
      expect((await leecher.waitExit(10_000)).code).toBe(0);
      expect(Buffer.compare(await readFile(join(out, 'tracked.bin')), t.content)).toBe(0);
      expect(tracker.peers(t.metainfo.infoHash).length).toBeGreaterThanOrEqual(1);
    } finally {
      await tracker.close();
    }
  });
});
