/**
 * 24 real UDP nodes on 127.0.0.x and the real `dht-node lookup` CLI: a peer announced through the CLI is
 * found by another CLI lookup, from another address. Also the CLI's exit codes for bad input and for a
 * network that does not answer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDht } from '../../src/app/dht.js';
import { ProcessGroup, requireOurCommand } from '../support/processes.js';
import { startLoopbackNetwork, stopAll } from '../support/udp-nodes.js';

const INFOHASH = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

describe('DHT on loopback UDP with the lookup CLI', () => {
  let nodes: RunningDht[] = [];
  const procs = new ProcessGroup();
  let bootstrap = '';

  beforeAll(async () => {
    requireOurCommand('lookup');
    nodes = await startLoopbackNetwork(24, 20);
    bootstrap = `${nodes[0]!.transport.local.host}:${nodes[0]!.transport.local.port}`;
  });

  afterAll(async () => {
    await procs.stopAll();
    await stopAll(nodes);
  });

  it('builds routing tables over real sockets', () => {
    const sizes = nodes.map((n) => n.node.table.size);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(4);
  });

  it('announce then lookup finds the peer', async () => {
    const announcer = procs.cli('announce', ['lookup', INFOHASH, '--bind', '127.0.0.60', '--allow-local', '--bootstrap', bootstrap, '--announce', '--port', '7001', '--dht-port', '0', '--json', '--timeout', '15']);
    const announced = await announcer.waitFor((e) => e.event === 'announced', 20_000, 'an announced event');
    expect(announced.ok as number).toBeGreaterThanOrEqual(4);
    expect((await announcer.waitExit(10_000)).code).toBe(0);

    const finder = procs.cli('find', ['lookup', INFOHASH, '--bind', '127.0.0.61', '--allow-local', '--bootstrap', bootstrap, '--json', '--timeout', '15']);
    const peer = await finder.waitFor((e) => e.event === 'peer', 20_000, 'a peer event');
    expect(peer).toMatchObject({ host: '127.0.0.60', port: 7001 });
    const done = await finder.waitFor((e) => e.event === 'done', 20_000, 'the done event');
    expect(done.peers).toBe(1);
    expect(done.queries as number).toBeLessThanOrEqual(30);
    expect((await finder.waitExit(10_000)).code).toBe(0);

    // The peer is stored on the nodes closest to the infohash, not everywhere.
    const holders = nodes.filter((n) => n.node.peers.size > 0).length;
    expect(holders).toBeGreaterThanOrEqual(4);
    expect(holders).toBeLessThanOrEqual(12);
  });

  it('exits 2 on a malformed infohash and 3 when no node answers', async () => {
    const bad = procs.cli('bad', ['lookup', 'not-a-hash', '--json']);
    const err = await bad.waitFor((e) => e.event === 'error', 10_000, 'an error event');
    expect(err.code).toBe('magnet_invalid');
    expect((await bad.waitExit(10_000)).code).toBe(2);

    // Its own empty state: the lookups above saved contacts of this live network under the shared one.
    const emptyState = mkdtempSync(join(tmpdir(), 'dht-node-lonely-'));
    const lonely = procs.cli('lonely', ['lookup', INFOHASH, '--bind', '127.0.0.62', '--allow-local', '--bootstrap', '127.0.0.63:9', '--json', '--timeout', '10', '--state-dir', emptyState]);
    expect((await lonely.waitExit(20_000)).code).toBe(3);
  });
});
