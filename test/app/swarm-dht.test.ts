import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDht, type RunningDht } from '../../src/app/dht.js';
import { startSwarmDht } from '../../src/app/swarm-dht.js';
import { silentLogger } from '../../src/util/log.js';
import { errorCode } from '../../src/util/errors.js';

// startSwarmDht runs the node before its saved state is loaded; the state must still end up in force
// (the saved id, contacts and persistence) and a state that cannot be opened must surface.

const HOST = '127.0.0.78';

describe('startSwarmDht', () => {
  let dir: string;
  const running: RunningDht[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarm-dht-'));
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes the saved id and keeps saving once the state has loaded', async () => {
    const state = { dir, role: 'download', optional: true };
    const first = await startDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state });
    const savedId = first.node.id;
    await first.close();

    const dht = await startSwarmDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state }, silentLogger);
    running.push(dht);
    await dht.stateReady;
    expect(dht.node.id).toEqual(savedId);
    expect(dht.persistence).toBeDefined();
    expect(dht.stateReport).toBeDefined();
  });

  it('closes cleanly while the state is still loading, and leaves the store usable', async () => {
    const state = { dir, role: 'download', optional: false };
    const dht = await startSwarmDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state }, silentLogger);
    await dht.close();
    const again = await startDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state });
    running.push(again);
    expect(again.persistence).toBeDefined();
  });

  it('rejects stateReady when the state cannot be opened, and still closes', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const dht = await startSwarmDht({ bind: HOST, port: 0, bootstrap: [], allowLocal: true, state: { dir: file, role: 'download', optional: true } }, silentLogger);
    let code: string | undefined;
    await dht.stateReady.catch((err: unknown) => {
      code = errorCode(err);
    });
    expect(code).toMatch(/^state_/);
    expect(dht.persistence).toBeUndefined();
    await dht.close();
  });
});
