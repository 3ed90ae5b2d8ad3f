/**
 * libtorrent joins the DHT through our bootstrap node (issue 3). Our `bootstrap` runs with a short ping
 * delay; libtorrent nodes are given it as their only bootstrap node. The first one is verified (it
 * answers our stateless ping) and enters the pool; the ones after it learn it from our replies and fill
 * their routing tables from there, with no other way in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { num, ProcessGroup, requireLibtorrent, requireOurCommand, retryUntil, type JsonLineProcess } from '../support/processes.js';
import { partnerHasNodes, readyEndpoint, setupOrFail, type Endpoint } from './network.js';

// This file's addresses: 127.0.35.0/24.
const BOOT_HOST = '127.0.35.1';
const LT_HOSTS = ['127.0.35.10', '127.0.35.11', '127.0.35.12', '127.0.35.13'];

describe('libtorrent bootstraps through our bootstrap node', () => {
  const group = new ProcessGroup();
  let boot: JsonLineProcess | undefined;
  let entry: Endpoint | undefined;
  const lts: JsonLineProcess[] = [];

  const poolSize = async (min: number): Promise<number> =>
    retryUntil(`our pool holding ${min} verified nodes`, 30_000, 200, async () => {
      const s = [...(boot?.events ?? [])].reverse().find((e) => e.event === 'stats');
      const pool = s ? num(s, 'pool') : 0;
      return pool >= min ? pool : undefined;
    });

  const setupDone = setupOrFail(beforeAll, async () => {
    requireLibtorrent();
    requireOurCommand('bootstrap');
    boot = group.cli('our bootstrap', ['bootstrap', '--bind', BOOT_HOST, '--dht-port', '0', '--allow-local', '--ping-delay', '0.2',
      '--stats-interval', '0.2', '--state-dir', group.tempDir('interop-boot-state-'), '--json']);
    entry = readyEndpoint(BOOT_HOST, await boot.ready());
    const first = group.libtorrent(`libtorrent ${LT_HOSTS[0]}`, ['--bind', LT_HOSTS[0]!, '--bootstrap', `${entry.host}:${entry.port}`]);
    await first.ready();
    lts.push(first);
    await poolSize(1);
    for (const host of LT_HOSTS.slice(1)) {
      const p = group.libtorrent(`libtorrent ${host}`, ['--bind', host, '--bootstrap', `${entry.host}:${entry.port}`]);
      await p.ready();
      lts.push(p);
    }
  });

  afterAll(async () => {
    await group.stopAll();
  });

  it('verifies libtorrent nodes into its pool', async () => {
    setupDone();
    expect(await poolSize(LT_HOSTS.length)).toBeGreaterThanOrEqual(LT_HOSTS.length);
  });

  it('gives later libtorrent nodes a routing table through the pool alone', async () => {
    setupDone();
    for (const p of lts.slice(1)) expect(await partnerHasNodes(p, 2)).toBeGreaterThanOrEqual(2);
  });
});
