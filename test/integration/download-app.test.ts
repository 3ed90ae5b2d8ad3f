/**
 * The download and seed composition roots in-process on loopback: a peer source plugged in through the
 * extension point (as the DHT and trackers will be) is what connects the leecher to the seeder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTorrentFromPath, writeTorrentFile } from '../../src/app/create.js';
import { runDownload, SwarmAppError, type SwarmHandle } from '../../src/app/download.js';
import { runSeed } from '../../src/app/seed.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dht-node-app-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runSeed / runDownload', () => {
  it('a peer source fed through the extension point connects the leecher; events follow CLI.md', async () => {
    await mkdir(join(dir, 'src'));
    const data = new SeededRandom(8).bytes(300_001);
    await writeFile(join(dir, 'src', 'f.bin'), data);
    const created = await createTorrentFromPath({}, join(dir, 'src', 'f.bin'), { pieceLength: 32768, creationDate: null });
    await writeTorrentFile(join(dir, 'f.torrent'), created.torrent);

    const stopSeed = new AbortController();
    const seedEvents: Array<{ event: string; fields: Record<string, unknown> }> = [];
    let seedReady!: (port: number) => void;
    const seedPort = new Promise<number>((r) => (seedReady = r));
    const seeding = runSeed({
      path: join(dir, 'src', 'f.bin'), pieceLength: 32768, out: dir, peers: [], port: 0, bind: '127.0.0.1', uploadLimit: 0, downloadLimit: 0,
      log: silentLogger, signal: stopSeed.signal,
      onEvent: (event, fields) => {
        seedEvents.push({ event, fields });
        if (event === 'ready') seedReady(fields.tcpPort as number);
      },
    });
    const port = await seedPort;

    const handles: SwarmHandle[] = [];
    let cleaned = false;
    const events: string[] = [];
    const outcome = await runDownload({
      source: { kind: 'torrent', path: join(dir, 'f.torrent') }, out: join(dir, 'out'), peers: [], port: 0, bind: '127.0.0.1', uploadLimit: 0, downloadLimit: 0,
      seedAfter: false, timeoutMs: 30_000, log: silentLogger, signal: new AbortController().signal,
      onEvent: (event) => events.push(event),
      peerSources: [
        (handle) => {
          handles.push(handle);
          handle.addPeer({ host: '127.0.0.1', port });
          return async () => {
            cleaned = true;
          };
        },
      ],
    });
    expect(outcome.complete).toBe(true);
    expect(handles[0]?.info.name).toBe('f.bin');
    expect(cleaned).toBe(true);
    expect(events[0]).toBe('metadata');
    expect(events[1]).toBe('ready');
    expect(events).toContain('complete');
    expect(events.at(-1)).toBe('stats');
    expect(Buffer.compare(await readFile(join(dir, 'out', 'f.bin')), Buffer.from(data))).toBe(0);

    stopSeed.abort();
    const seeded = await seeding;
    expect(seeded.stats.uploaded).toBeGreaterThanOrEqual(data.length);
    expect(seedEvents.at(-1)?.fields.final).toBe(true);
  }, 60_000);

  it('maps bad input to usage errors and no data to seed_no_data', async () => {
    const signal = new AbortController().signal;
    const common = { out: dir, peers: [], port: 0, bind: '127.0.0.1', uploadLimit: 0, downloadLimit: 0, log: silentLogger, signal, onEvent: () => {} };
    const missing = await runDownload({ ...common, source: { kind: 'torrent', path: join(dir, 'nope.torrent') }, seedAfter: false }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SwarmAppError);
    expect((missing as SwarmAppError).kind).toBe('usage');
    const created = await createTorrentFromPath({}, join(dir, 'src', 'f.bin'), { pieceLength: 32768, creationDate: null });
    await writeTorrentFile(join(dir, 'g.torrent'), created.torrent, { force: true });
    const empty = await runSeed({ ...common, path: join(dir, 'g.torrent'), out: join(dir, 'empty') }).catch((e: unknown) => e);
    expect((empty as SwarmAppError).code).toBe('seed_no_data');
    expect((empty as SwarmAppError).kind).toBe('usage');
  }, 30_000);
});
