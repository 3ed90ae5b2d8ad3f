import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDht, type RunningDht } from '../../src/app/dht.js';
import { errorCode } from '../../src/util/errors.js';

// startDht binds its sockets and opens its state at the same time; when one of them fails, whatever the
// others opened must be closed again (a leaked LevelDB lock or socket would break the next start).

const HOST = '127.0.0.77';

function holdUdpPort(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, HOST, () => resolve(s));
  });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return errorCode(err);
  }
  throw new Error('expected a failure');
}

describe('startDht', () => {
  let dir: string;
  const running: RunningDht[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dht-start-'));
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('closes the state it opened when the socket cannot be bound', async () => {
    const busy = await holdUdpPort();
    try {
      const port = busy.address().port;
      const state = { dir, role: 'download', optional: false };
      expect(await codeOf(startDht({ bind: HOST, port, bootstrap: [], allowLocal: true, state }))).toBe('dht_bind');
      // The store was released: a second start on the same role opens it (a leak would be state_locked).
      const dht = await startDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state });
      running.push(dht);
      expect(dht.persistence).toBeDefined();
    } finally {
      busy.close();
    }
  });

  it('closes the socket it bound when the state cannot be opened', async () => {
    const state = { dir, role: 'run', optional: false };
    const holder = await startDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state });
    running.push(holder);
    const probe = await holdUdpPort();
    const port = probe.address().port;
    probe.close();
    expect(await codeOf(startDht({ bind: HOST, port, bootstrap: [], allowLocal: true, state }))).toBe('state_locked');
    // The port was released: binding it again works.
    const rebound = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      rebound.once('error', reject);
      rebound.bind(port, HOST, () => resolve());
    });
    rebound.close();
  });

  it('with optional state held by another, runs without it', async () => {
    const state = { dir, role: 'download', optional: true };
    const first = await startDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state });
    running.push(first);
    const second = await startDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state });
    running.push(second);
    expect(first.persistence).toBeDefined();
    expect(second.persistence).toBeUndefined();
    expect(second.node.id).not.toEqual(first.node.id);
  });
});
