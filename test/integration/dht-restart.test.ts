/**
 * State across restarts (issue 3): a `run` node in a 50-node loopback network is stopped and started with
 * the same state directory after its bootstrap node is gone; it keeps its id and rejoins from its saved
 * contacts. A state directory with garbage in it costs a warning, not a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDht } from '../../src/app/dht.js';
import { ProcessGroup, requireOurCommand } from '../support/processes.js';
import { startLoopbackNetwork, stopAll } from '../support/udp-nodes.js';

const RUN_HOST = '127.0.3.1';

describe('run: restart with saved state', () => {
  let nodes: RunningDht[] = [];
  const procs = new ProcessGroup();
  const stateDir = mkdtempSync(join(tmpdir(), 'dht-node-restart-'));

  beforeAll(async () => {
    requireOurCommand('run');
    nodes = await startLoopbackNetwork(50, 100, { rpc: { ipRateLimit: 0 } });
  });

  afterAll(async () => {
    await procs.stopAll();
    await stopAll(nodes);
    rmSync(stateDir, { recursive: true, force: true });
  });

  const runArgs = (bootstrap: string) => ['run', '--bind', RUN_HOST, '--dht-port', '0', '--allow-local', '--bootstrap', bootstrap, '--state-dir', stateDir, '--json', '--stats-interval', '1'];

  it('keeps its id and rejoins without the bootstrap node', async () => {
    const entry = nodes[0]!.transport.local;
    const first = procs.cli('run-1', runArgs(`${entry.host}:${entry.port}`));
    const ready1 = await first.ready();
    const joined = await first.waitFor((e) => e.event === 'bootstrapped', 20_000, 'bootstrapped');
    expect(joined.nodes as number).toBeGreaterThanOrEqual(8);
    const status = await first.stop();
    expect(status.code).toBe(0);
    expect(first.events.some((e) => e.event === 'stopped')).toBe(true);

    // The bootstrap node goes away; the restart must not need it.
    await nodes[0]!.close();
    nodes = nodes.slice(1);
    const second = procs.cli('run-2', runArgs(`${entry.host}:${entry.port}`));
    const ready2 = await second.ready();
    expect(ready2.nodeId).toBe(ready1.nodeId);
    expect(ready2.savedContacts as number).toBeGreaterThanOrEqual(8);
    const restored = await second.waitFor((e) => e.event === 'restored', 15_000, 'restored');
    expect(restored.answered as number).toBeGreaterThanOrEqual(8);
    const stats = await second.waitFor((e) => e.event === 'stats' && (e.nodes as number) >= 8, 15_000, 'a stats line with a table of 8+');
    expect(stats.goodNodes as number).toBeGreaterThanOrEqual(8);
    // Routable: the other nodes hear from it again (they answer its queries and it answers theirs).
    await second.stop();
  });

  it('starts with a warning when the state holds garbage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dht-node-garbage-'));
    const db = new Level<string, Uint8Array>(join(dir, 'run'), { valueEncoding: 'view' });
    await db.open();
    await db.put('contact!zzzz', new Uint8Array([1, 2, 3]));
    await db.put('node!id', new Uint8Array([9]));
    await db.put('random-junk', new Uint8Array(100).fill(0xff));
    await db.close();
    const entry = nodes[0]!.transport.local;
    const p = procs.cli('garbage', ['run', '--bind', '127.0.3.2', '--dht-port', '0', '--allow-local', '--bootstrap', `${entry.host}:${entry.port}`, '--state-dir', dir, '--json']);
    await p.ready();
    const state = await p.waitFor((e) => e.event === 'state', 10_000, 'the state event');
    const skipped = Object.values(state.skipped as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(skipped + (state.foreignKeys as number) + (state.discardedUncommitted as number)).toBeGreaterThanOrEqual(2);
    const joined = await p.waitFor((e) => e.event === 'bootstrapped', 20_000, 'bootstrapped');
    expect(joined.nodes as number).toBeGreaterThanOrEqual(8);
    expect((await p.stop()).code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
