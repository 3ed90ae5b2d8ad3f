/**
 * kill -9 safety: a child process saves pool and contact sets in a loop through the real LevelDB store and
 * is SIGKILLed at seeded moments. After every kill the store must open, and what loads must be exactly one
 * whole save (never a mix of two, never a partial one) with every record valid.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLevelStore } from '../../src/state/level-store.js';
import { SeededRandom } from '../../src/util/random.js';
import { buildStateForChild } from './child-build.js';
import { id } from './store-contract.js';

/**
 * Save j writes poolSize(j) pool entries stamped addedAt = j; every third one spans several write batches
 * (WRITE_BATCH_MAX is 10,000), so a kill can land between two batches of one save.
 */
const SIZES = `
const poolSize = (j) => (j % 3 === 0 ? 10_500 + j : 300 + ((j * 7919) % 2000));
const contactSize = (j) => 1 + (j % 50);`;
const poolSize = (j: number): number => (j % 3 === 0 ? 10_500 + j : 300 + ((j * 7919) % 2000));
const contactSize = (j: number): number => 1 + (j % 50);

const CHILD = `
import { openLevelStore } from './src/state/level-store.js';
${SIZES}
const idOf = (i, fill) => { const b = new Uint8Array(20).fill(fill); new DataView(b.buffer).setUint32(16, i); return b; };
const s = await openLevelStore(process.argv[2]);
if ((await s.getNodeId()) === undefined) await s.setNodeId(idOf(7, 7));
let j = 0;
for (const p of (await s.loadPool()).entries) j = Math.max(j, p.addedAt);
for (;;) {
  j++;
  process.stdout.write('saving ' + j + '\\n');
  // A lazy iterable: the store pulls records as it writes, so "mid" is printed after the first batch is on disk.
  const pool = function* () {
    for (let i = 0; i < poolSize(j); i++) {
      if (i === 10_001) process.stdout.write('mid ' + j + '\\n');
      yield { id: idOf(i, j & 255), host: '10.' + (j & 255) + '.0.1', port: 1 + (i % 65535), addedAt: j };
    }
  };
  await s.savePool(pool());
  const contacts = [];
  for (let i = 0; i < contactSize(j); i++) contacts.push({ id: idOf(i, 1), host: '::1', port: 1000 + i, lastSeen: j });
  await s.saveContacts(contacts);
  process.stdout.write('saved ' + j + '\\n');
}
`;

const WORK = buildStateForChild();
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** Runs the child until it prints the `trigger` line, then SIGKILLs it. */
function runAndKill(dir: string, trigger: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(WORK, 'child.mjs'), dir], { cwd: WORK, stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (!killed && seen.split('\n').includes(trigger)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`child exited with ${code} before "${trigger}"`));
    });
  });
}

describe('LevelDB store under kill -9', () => {
  it('opens after every kill and loads exactly one whole save', async () => {
    writeFileSync(join(WORK, 'child.mjs'), CHILD);
    const dir = join(mkdtempSync(join(tmpdir(), 'dht-state-crash-')), 'db');
    const random = new SeededRandom(0x5eed);
    let last = 0;
    const seenSaves = new Set<number>();
    const kinds = new Set<string>();
    for (let round = 0; round < 6; round++) {
      // Kill while save `last + k` is being written, or just after one finished.
      const kind = (['saving', 'mid', 'saved'] as const)[random.int(3)] ?? 'saving';
      let target = last + 1 + random.int(4);
      if (kind === 'mid') while (target % 3 !== 0) target++; // only multi-batch saves print "mid"
      const finished = kind === 'saved';
      await runAndKill(dir, `${kind} ${target}`);
      kinds.add(kind);

      const s = await openLevelStore(dir);
      expect(await s.getNodeId()).toEqual(id(7, 7));
      const pool = await s.loadPool();
      const stamps = new Set(pool.entries.map((p) => p.addedAt));
      expect(pool.skipped).toBe(0);
      expect(stamps.size).toBeLessThanOrEqual(1);
      const j = [...stamps][0] ?? 0;
      // A killed process loses nothing the kernel already has: a save that printed "saved" is whole on disk.
      expect(j).toBeGreaterThanOrEqual(finished ? target : target - 1);
      if (j > 0) expect(pool.entries).toHaveLength(poolSize(j));
      for (const p of pool.entries) {
        expect(p.id).toHaveLength(20);
        expect(p.id[0]).toBe(j & 255);
        expect(p.host).toBe(`10.${j & 255}.0.1`);
      }
      const contacts = await s.loadContacts();
      expect(contacts.skipped).toBe(0);
      const cj = contacts.entries[0]?.lastSeen ?? 0;
      // Contacts are saved after the pool, so they are from the same save or the one before.
      expect([j, j - 1]).toContain(cj);
      if (finished && j === target) expect(cj).toBe(target);
      if (cj > 0) expect(contacts.entries).toHaveLength(contactSize(cj));
      expect(new Set(contacts.entries.map((c) => c.lastSeen)).size).toBeLessThanOrEqual(1);
      seenSaves.add(j);
      last = j;
      await s.close();
    }
    // The kills landed at different points: the store moved on between rounds.
    expect(seenSaves.size).toBeGreaterThan(1);
    expect(kinds).toEqual(new Set(['saving', 'mid', 'saved']));
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });
});
