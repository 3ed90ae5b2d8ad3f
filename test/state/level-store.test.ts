import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultStateDir, openLevelStore, openRoleStore, roleStateDir } from '../../src/state/level-store.js';
import { errorCode } from '../../src/util/errors.js';
import type { Logger } from '../../src/util/log.js';
import { describeStoreContract, id, type StoreHarness } from './store-contract.js';

const ROOT = mkdtempSync(join(tmpdir(), 'dht-state-test-'));
let counter = 0;
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

function freshDir(): string {
  return join(ROOT, `db-${++counter}`);
}

async function withRaw<T>(dir: string, fn: (db: Level<string, Uint8Array>) => Promise<T>): Promise<T> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

describeStoreContract('LevelDB', async (): Promise<StoreHarness> => {
  const dir = freshDir();
  return {
    open: () => openLevelStore(dir),
    putRaw: (key, value) => withRaw(dir, (db) => db.put(key, value)),
    rawKeys: () => withRaw(dir, (db) => db.keys().all()),
  };
});

async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
}

describe('state directories', () => {
  it('defaults to $XDG_STATE_HOME/dht-node, else ~/.local/state/dht-node', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/x/state' }, '/home/u')).toBe('/x/state/dht-node');
    expect(defaultStateDir({}, '/home/u')).toBe('/home/u/.local/state/dht-node');
    expect(defaultStateDir({ XDG_STATE_HOME: '' }, '/home/u')).toBe('/home/u/.local/state/dht-node');
    // XDG Base Directory spec: a relative value is invalid and ignored.
    expect(defaultStateDir({ XDG_STATE_HOME: 'rel/state' }, '/home/u')).toBe('/home/u/.local/state/dht-node');
  });

  it('gives each role its own database so roles do not contend for the lock', async () => {
    const stateDir = join(freshDir(), 'deep', 'er');
    const run = await openRoleStore(stateDir, 'run');
    const boot = await openRoleStore(stateDir, 'bootstrap');
    await run.setNodeId(id(1));
    await boot.setNodeId(id(2));
    expect(await run.getNodeId()).toEqual(id(1));
    expect(await boot.getNodeId()).toEqual(id(2));
    expect(errorCode(await failure(openRoleStore(stateDir, 'run')))).toBe('state_locked');
    await run.close();
    await boot.close();
    expect(readdirSync(stateDir).sort()).toEqual(['bootstrap', 'run']);
    for (const bad of ['', '../x', 'Run', 'a/b', 'x'.repeat(33)]) {
      expect(() => roleStateDir(stateDir, bad)).toThrow(expect.objectContaining({ code: 'state_bad_role' }));
    }
  });

  it('reports an unusable directory as state_unreadable in one line naming the path', async () => {
    const file = join(freshDir() + '-file');
    writeFileSync(file, 'not a directory');
    const dir = join(file, 'db');
    const err = await failure(openLevelStore(dir));
    expect(err.code).toBe('state_unreadable');
    expect(err.message).toContain(dir);
    expect(err.message).not.toContain('\n');
  });

  it('fails (rather than hangs) on a path Node 20 recursive mkdir loops on', async () => {
    // Under /proc, mkdir answers ENOENT forever; `mkdir -p` via fs.mkdir({ recursive }) never settles.
    const dir = '/proc/dht-node-no-such-dir/db';
    const err = await failure(openLevelStore(dir));
    expect(err.code).toBe('state_unreadable');
    expect(err.message).toContain(dir);
  });
});

describe('locking', () => {
  it('gives state_locked with the path when another process holds the database', async () => {
    const dir = freshDir();
    await (await openLevelStore(dir)).close();
    // The child holds the LevelDB LOCK until its stdin closes.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Level } from 'level'; const db = new Level(${JSON.stringify(dir)}); await db.open();
         process.stdout.write('ready\\n'); process.stdin.resume(); process.stdin.on('end', async () => { await db.close(); process.exit(0); });`,
      ],
      { cwd: new URL('../../', import.meta.url).pathname, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', () => reject(new Error('child exited early')));
    });
    const err = await failure(openLevelStore(dir));
    expect(err.code).toBe('state_locked');
    expect(err.message).toContain(dir);
    expect(err.message).not.toContain('\n');
    child.stdin.end();
    expect(await exited).toBe(0);
    await (await openLevelStore(dir)).close();
  });
});

/** A store with a node id and a 5,000-entry pool, closed and reopened once so the data sits in a table. */
async function populated(): Promise<string> {
  const dir = freshDir();
  const s = await openLevelStore(dir);
  await s.setNodeId(id(99, 9));
  await s.savePool(Array.from({ length: 5_000 }, (_, i) => ({ id: id(i), host: '10.0.0.1', port: 1 + i, addedAt: i })));
  await s.close();
  await (await openLevelStore(dir)).close();
  return dir;
}

function garble(path: string, at: number, length: number): void {
  const b = readFileSync(path);
  const from = Math.floor(b.length * at);
  for (let i = from; i < Math.min(b.length, from + length); i++) b[i] = (b[i] as number) ^ 0x5a;
  writeFileSync(path, b);
}

function fileOf(dir: string, pattern: RegExp): string {
  const name = readdirSync(dir).find((f) => pattern.test(f));
  if (name === undefined) throw new Error(`no file matching ${pattern} in ${dir}`);
  return join(dir, name);
}

describe('damaged database files', () => {
  const cases: Array<[string, (dir: string) => void, boolean]> = [
    ['garbled MANIFEST', (d) => garble(fileOf(d, /^MANIFEST-/), 0.3, 16), false],
    ['CURRENT naming a missing manifest', (d) => writeFileSync(join(d, 'CURRENT'), 'garbage\n'), false],
    ['garbled table (.ldb) block', (d) => garble(fileOf(d, /\.ldb$/), 0.5, 64), true],
    ['truncated table (.ldb)', (d) => writeFileSync(fileOf(d, /\.ldb$/), readFileSync(fileOf(d, /\.ldb$/)).subarray(0, 1000)), false],
  ];
  for (const [name, damage, keepsNodeId] of cases) {
    it(`${name}: moved aside with a warning, a fresh store opens`, async () => {
      const dir = await populated();
      damage(dir);
      const log = recordingLog();
      const s = await openLevelStore(dir, { log });
      const report = s.loadReport();
      expect(report.movedCorruptTo).toBe(`${dir}.corrupt-1`);
      expect(existsSync(`${dir}.corrupt-1`)).toBe(true);
      expect(report.created).toBe(true);
      expect(log.warnings.some((w) => w.includes('corrupt'))).toBe(true);
      expect(await s.getNodeId()).toEqual(keepsNodeId ? id(99, 9) : undefined);
      await s.savePool([{ id: id(1), host: '10.0.0.1', port: 1, addedAt: 1 }]);
      expect((await s.loadPool()).entries).toHaveLength(1);
      await s.close();
    });
  }

  it("throws state_corrupt instead with onCorrupt: 'fail', and numbers further copies", async () => {
    const dir = await populated();
    garble(fileOf(dir, /^MANIFEST-/), 0.3, 16);
    const err = await failure(openLevelStore(dir, {}, { onCorrupt: 'fail' }));
    expect(err.code).toBe('state_corrupt');
    expect(err.message).toContain(dir);
    expect(err.message).not.toContain('\n');
    await (await openLevelStore(dir)).close();
    writeFileSync(join(dir, 'CURRENT'), 'garbage\n');
    const s = await openLevelStore(dir);
    expect(s.loadReport().movedCorruptTo).toBe(`${dir}.corrupt-2`);
    await s.close();
  });

  it('garbled write-ahead log: opens, and what loads is one whole save or nothing', async () => {
    const outcomes: number[] = [];
    // Three spots: inside the first save, inside the second, inside the clear of the first generation.
    for (const at of [0.1, 0.6, 0.9]) {
      const dir = freshDir();
      const s = await openLevelStore(dir);
      await s.savePool(Array.from({ length: 3_000 }, (_, i) => ({ id: id(i), host: '10.0.0.1', port: 1 + i, addedAt: 1 })));
      await s.savePool(Array.from({ length: 2_000 }, (_, i) => ({ id: id(i), host: '10.0.0.2', port: 1 + i, addedAt: 2 })));
      await s.close(); // LevelDB keeps these in the .log until the next open recovers it
      garble(fileOf(dir, /\.log$/), at, 64);
      const r = await openLevelStore(dir);
      const pool = await r.loadPool();
      expect(r.loadReport().movedCorruptTo).toBeUndefined();
      expect(pool.skipped).toBe(0);
      const stamps = new Set(pool.entries.map((p) => p.addedAt));
      expect(stamps.size).toBeLessThanOrEqual(1);
      if (stamps.has(1)) expect(pool.entries).toHaveLength(3_000);
      if (stamps.has(2)) expect(pool.entries).toHaveLength(2_000);
      outcomes.push(pool.entries.length);
      await r.close();
    }
    expect(outcomes.some((n) => n > 0)).toBe(true);
  });
});
