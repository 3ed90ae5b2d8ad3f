/** Real UDP DHT nodes in the test process, on distinct 127.0.0.x addresses (loopback only). */
import { startDht, type RunningDht } from '../../src/app/dht.js';
import type { DhtNodeOptions } from '../../src/dht/node.js';

/** Starts `count` nodes on 127.0.0.<firstHost>..; every node bootstraps from the first. */
export async function startLoopbackNetwork(count: number, firstHost: number, options: Omit<DhtNodeOptions, 'bootstrap'> = {}): Promise<RunningDht[]> {
  const nodes: RunningDht[] = [];
  const first = await startDht({ ...options, bind: `127.0.0.${firstHost}`, port: 0, bootstrap: [], allowLocal: true });
  nodes.push(first);
  const entry = { host: first.transport.local.host, port: first.transport.local.port };
  for (let i = 1; i < count; i++) {
    nodes.push(await startDht({ ...options, bind: `127.0.0.${firstHost + i}`, port: 0, bootstrap: [entry], allowLocal: true }));
  }
  // Join in small waves so the first node is not the only one anyone knows.
  for (let i = 1; i < nodes.length; i += 6) await Promise.all(nodes.slice(i, i + 6).map((n) => n.node.bootstrap()));
  await Promise.all(nodes.map((n) => n.node.bootstrap()));
  return nodes;
}

export async function stopAll(nodes: RunningDht[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.close()));
}
