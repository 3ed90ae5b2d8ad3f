/**
 * Our bootstrap node on loopback (issue 3): 200 real UDP nodes join through the `dht-node bootstrap` CLI
 * with a short ping delay; all end up with healthy tables, the pool holds verified nodes, and its replies
 * spread over the pool. A restart with the same state directory serves the pool at once.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDht, type RunningDht } from '../../src/app/dht.js';
import { encode } from '../../src/codec/bencode.js';
import { decodeMessage } from '../../src/krpc/messages.js';
import { ProcessGroup, requireOurCommand } from '../support/processes.js';
import { median } from '../support/stats.js';
import { stopAll } from '../support/udp-nodes.js';

const JOINERS = 200;
const BOOT_HOST = '127.0.4.1';

describe('bootstrap node with 200 joiners on loopback', () => {
  const procs = new ProcessGroup();
  const stateDir = mkdtempSync(join(tmpdir(), 'dht-node-boot-'));
  let nodes: RunningDht[] = [];

  afterAll(async () => {
    await procs.stopAll();
    await stopAll(nodes);
    rmSync(stateDir, { recursive: true, force: true });
  });

  const bootArgs = ['bootstrap', '--bind', BOOT_HOST, '--dht-port', '0', '--allow-local', '--ping-delay', '0.2', '--state-dir', stateDir, '--stats-interval', '1', '--json'];

  it('gives every joiner a healthy table from a verified, spread pool, and keeps the pool across a restart', async () => {
    requireOurCommand('bootstrap');
    const boot = procs.cli('bootstrap', bootArgs);
    const ready = await boot.ready();
    const entry = { host: BOOT_HOST, port: ready.dhtPort as number };
    for (let i = 0; i < JOINERS; i++) {
      const n = await startDht({ bind: `127.0.5.${i + 1}`, port: 0, bootstrap: [entry], allowLocal: true });
      n.node.start();
      void n.node.bootstrap();
      nodes.push(n);
    }
    // Joiners retry while their tables are thin; verified nodes enter the pool a second after contact.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && nodes.some((n) => n.node.table.size < 8)) await new Promise((r) => setTimeout(r, 500));
    const sizes = nodes.map((n) => n.node.table.size);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(8);
    expect(median(sizes)).toBeGreaterThanOrEqual(15);
    const stats = await boot.waitFor((e) => e.event === 'stats' && (e.pool as number) >= JOINERS * 0.95, 20_000, 'a pool of 190+');
    expect(stats.verified as number).toBeGreaterThanOrEqual(JOINERS * 0.95);

    // Twelve queries from one address walk on through the pool: no node is handed out twice.
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.6.1', r));
    const seen = new Map<string, number>();
    let replies = 0;
    sock.on('message', (msg) => {
      const m = decodeMessage(new Uint8Array(msg));
      if (m.kind !== 'response') return;
      replies++;
      for (const n of m.body.nodes ?? []) seen.set(n.host, (seen.get(n.host) ?? 0) + 1);
    });
    for (let i = 0; i < 12; i++) {
      sock.send(encode({ t: `q${i}`, y: 'q', q: 'find_node', a: { id: new Uint8Array(20).fill(i), target: new Uint8Array(20).fill(i) } }), entry.port, entry.host);
      await new Promise((r) => setTimeout(r, 20));
    }
    const repliesBy = Date.now() + 5_000;
    while (replies < 12 && Date.now() < repliesBy) await new Promise((r) => setTimeout(r, 50));
    sock.close();
    expect(replies).toBe(12);
    // The first reply to an address gets 16 nodes, repeats within a minute get 4: 60 entries. The joiners'
    // own queries advance the round-robin cursor meanwhile, so the entries may wrap around the pool, but
    // they are spread over it rather than repeating a hot few.
    expect(seen.size).toBeGreaterThanOrEqual(40);
    expect(Math.max(...seen.values())).toBeLessThanOrEqual(2);

    expect((await boot.stop()).code).toBe(0);
    const again = procs.cli('bootstrap-again', bootArgs);
    const ready2 = await again.ready();
    expect(ready2.nodeId).toBe(ready.nodeId);
    expect(ready2.pool as number).toBeGreaterThanOrEqual(JOINERS * 0.95);
  }, 120_000);
});
