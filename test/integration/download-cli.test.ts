/**
 * The built CLI end to end on loopback: `seed` and `download` as separate processes, JSON events and exit
 * codes of CLI.md, byte-identical results, SIGTERM's final stats, and resume after SIGKILL.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTorrentFromPath, writeTorrentFile } from '../../src/app/create.js';
import { SeededRandom } from '../../src/util/random.js';
import { num, ProcessGroup, REPO_ROOT, str, type JsonLineProcess } from '../support/processes.js';

const procs = new ProcessGroup();
let dir: string;

beforeAll(async () => {
  // The process tests run the CLI as built from this tree.
  const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  dir = await mkdtemp(join(tmpdir(), 'dht-node-dl-'));
}, 120_000);

afterEach(async () => {
  await procs.stopAll();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const COMMON = ['--json', '--no-dht', '--bind', '127.0.0.1', '--port', '0'];

async function makeTorrent(path: string, pieceLength: number): Promise<{ torrent: string; infohash: string }> {
  const created = await createTorrentFromPath({}, path, { pieceLength, creationDate: null });
  const torrent = `${path}.torrent`;
  await writeTorrentFile(torrent, created.torrent, { force: true });
  return { torrent, infohash: created.infoHashHex };
}

async function seed(name: string, path: string, pieceLength: string, extra: string[] = []): Promise<{ proc: JsonLineProcess; port: number; infohash: string }> {
  const proc = procs.cli(name, ['seed', path, '--piece-length', pieceLength, ...COMMON, ...extra]);
  const ready = await proc.ready(30_000);
  return { proc, port: num(ready, 'tcpPort'), infohash: str(ready, 'infohash') };
}

describe('seed and download (built CLI)', () => {
  it('single file with an odd last piece: byte-identical, events in order, exit 0; seeder stops on SIGTERM with final stats', async () => {
    const src = join(dir, 'single');
    await mkdir(src);
    const data = new SeededRandom(1).bytes(5 * 65536 + 4321);
    await writeFile(join(src, 'one.bin'), data);
    const { torrent, infohash } = await makeTorrent(join(src, 'one.bin'), 65536);
    const s = await seed('seeder', join(src, 'one.bin'), '64k');
    expect(s.infohash).toBe(infohash);
    const out = join(dir, 'single-out');
    const dl = procs.cli('leecher', ['download', torrent, '--out', out, '--peer', `127.0.0.1:${s.port}`, '--timeout', '30', ...COMMON]);
    const status = await dl.waitExit(40_000, 'download exit');
    expect(status.code, dl.describe()).toBe(0);
    expect(Buffer.compare(await readFile(join(out, 'one.bin')), Buffer.from(data))).toBe(0);
    const kinds = dl.events.map((e) => e.event);
    expect(kinds.indexOf('metadata')).toBeLessThan(kinds.indexOf('ready'));
    expect(kinds.indexOf('ready')).toBeLessThan(kinds.indexOf('complete'));
    const complete = dl.events.find((e) => e.event === 'complete');
    expect(num(complete!, 'bytes')).toBe(data.length);
    const last = dl.events.at(-1)!;
    expect(last.event).toBe('stats');
    expect(last.final).toBe(true);
    expect(num(last, 'downloaded')).toBeGreaterThanOrEqual(data.length);

    const stopped = await s.proc.stop();
    expect(stopped.code).toBe(0);
    const final = s.proc.events.filter((e) => e.event === 'stats').at(-1)!;
    expect(final.final).toBe(true);
    expect(num(final, 'uploaded')).toBeGreaterThanOrEqual(data.length);
  }, 90_000);

  it('multi-file torrent seeded from its .torrent and --out: every file byte-identical', async () => {
    const root = join(dir, 'multi-src');
    await mkdir(join(root, 'album', 'sub'), { recursive: true });
    const r = new SeededRandom(2);
    const files: Record<string, Uint8Array> = { 'a.bin': r.bytes(100_000), 'sub/b.bin': r.bytes(1), 'sub/c.bin': r.bytes(777_777) };
    for (const [p, d] of Object.entries(files)) await writeFile(join(root, 'album', p), d);
    const { torrent } = await makeTorrent(join(root, 'album'), 32768);
    const s = await seed('seeder', torrent, '32k', ['--out', root]);
    const out = join(dir, 'multi-out');
    const dl = procs.cli('leecher', ['download', torrent, '--out', out, '--peer', `127.0.0.1:${s.port}`, '--timeout', '30', ...COMMON]);
    const status = await dl.waitExit(40_000, 'download exit');
    expect(status.code, dl.describe()).toBe(0);
    for (const [p, d] of Object.entries(files)) {
      expect(Buffer.compare(await readFile(join(out, 'album', p)), Buffer.from(d)), p).toBe(0);
    }
  }, 90_000);

  it('seeds a folder directly; download --seed-after keeps serving until SIGTERM, then exits 0 with final stats', async () => {
    const root = join(dir, 'folder-src');
    await mkdir(join(root, 'pack'), { recursive: true });
    const r = new SeededRandom(5);
    const files: Record<string, Uint8Array> = { 'x.bin': r.bytes(70_001), 'y.bin': r.bytes(33_333) };
    for (const [p, d] of Object.entries(files)) await writeFile(join(root, 'pack', p), d);
    const { torrent, infohash } = await makeTorrent(join(root, 'pack'), 16384);
    const s = await seed('seeder', join(root, 'pack'), '16k');
    expect(s.infohash).toBe(infohash);
    const out = join(dir, 'folder-out');
    const dl = procs.cli('leecher', ['download', torrent, '--out', out, '--peer', `127.0.0.1:${s.port}`, '--seed-after', ...COMMON]);
    await dl.waitFor((e) => e.event === 'complete', 30_000, 'complete');
    for (const [p, d] of Object.entries(files)) expect(Buffer.compare(await readFile(join(out, 'pack', p)), Buffer.from(d)), p).toBe(0);
    // Still running as a seed: a second leecher can fetch from it alone.
    await dl.waitFor((e) => e.event === 'stats', 10_000, 'a stats event after complete');
    const ready = dl.events.find((e) => e.event === 'ready')!;
    await s.proc.stop();
    const out2 = join(dir, 'folder-out-2');
    const dl2 = procs.cli('leecher-2', ['download', torrent, '--out', out2, '--peer', `127.0.0.1:${num(ready, 'tcpPort')}`, '--timeout', '30', ...COMMON]);
    expect((await dl2.waitExit(40_000, 'second download exit')).code, dl2.describe()).toBe(0);
    const status = await dl.stop();
    expect(status.code).toBe(0);
    const final = dl.events.filter((e) => e.event === 'stats').at(-1)!;
    expect(final.final).toBe(true);
    expect(num(final, 'uploaded')).toBeGreaterThanOrEqual(70_001 + 33_333);
  }, 90_000);

  it('gives up with exit 3 at --timeout when no peer answers, and refuses an unreadable torrent with exit 2', async () => {
    const src = join(dir, 'lonely');
    await mkdir(src);
    await writeFile(join(src, 'x.bin'), new SeededRandom(3).bytes(40_000));
    const { torrent } = await makeTorrent(join(src, 'x.bin'), 16384);
    const dl = procs.cli('leecher', ['download', torrent, '--out', join(dir, 'lonely-out'), '--peer', '127.0.0.1:9', '--timeout', '2', ...COMMON]);
    const status = await dl.waitExit(20_000, 'download exit');
    expect(status.code).toBe(3);
    expect(dl.events.find((e) => e.event === 'error')?.code).toBe('timeout');

    await writeFile(join(dir, 'junk.torrent'), 'd4:junk');
    const bad = procs.cli('bad', ['download', join(dir, 'junk.torrent'), '--out', dir, ...COMMON]);
    expect((await bad.waitExit(20_000)).code).toBe(2);
    expect(bad.events.find((e) => e.event === 'error')).toBeDefined();
  }, 60_000);

  it('resumes from verified pieces after SIGKILL and ends byte-identical', async () => {
    const src = join(dir, 'resume');
    await mkdir(src);
    const data = new SeededRandom(4).bytes(2 * 1024 * 1024 + 999);
    await writeFile(join(src, 'big.bin'), data);
    const { torrent } = await makeTorrent(join(src, 'big.bin'), 32768);
    // Slow enough (~8 s for the whole file) to kill the leecher part way.
    const s = await seed('seeder', join(src, 'big.bin'), '32k', ['--upload-limit', '256k']);
    const out = join(dir, 'resume-out');
    const args = ['download', torrent, '--out', out, '--peer', `127.0.0.1:${s.port}`, '--timeout', '60', ...COMMON];
    const first = procs.cli('leecher-1', args);
    const pieces = num(await first.waitFor((e) => e.event === 'metadata', 20_000, 'metadata'), 'pieces');
    await first.waitFor((e) => e.event === 'progress' && num(e, 'have') >= 10, 30_000, 'ten verified pieces');
    process.kill(first.pid!, 'SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(first.events.some((e) => e.event === 'complete')).toBe(false);
    expect((await stat(join(out, 'big.bin'))).size).toBeGreaterThan(0);

    const second = procs.cli('leecher-2', args);
    const ready = await second.ready(30_000);
    const resumed = num(ready, 'have');
    expect(resumed).toBeGreaterThanOrEqual(10);
    expect(resumed).toBeLessThan(pieces);
    const status = await second.waitExit(60_000, 'second download exit');
    expect(status.code, second.describe()).toBe(0);
    expect(Buffer.compare(await readFile(join(out, 'big.bin')), Buffer.from(data))).toBe(0);
    const final = second.events.filter((e) => e.event === 'stats').at(-1)!;
    // Only what was missing came over the wire the second time.
    expect(num(final, 'downloaded')).toBeLessThan(data.length);
  }, 120_000);
});
