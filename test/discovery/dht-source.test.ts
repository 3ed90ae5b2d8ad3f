import { describe, expect, it } from 'vitest';
import { DHT_REANNOUNCE_MS, DhtPeerSource, EMPTY_RETRY_FIRST_MS } from '../../src/discovery/dht-source.js';
import { SimNetwork } from '../support/sim-network.js';

async function network(seed: number, nodes: number): Promise<SimNetwork> {
  const sim = new SimNetwork(seed);
  for (let i = 0; i < nodes; i++) sim.addNode();
  await sim.bootstrapAll();
  return sim;
}

/** A seeder on node `index` announcing TCP port 6000; it wants no peers itself. */
function startSeeder(sim: SimNetwork, index: number, infoHash: Uint8Array): DhtPeerSource {
  const seeder = new DhtPeerSource({ nodes: [sim.nodes[index]!.node], clock: sim.clock }, { infoHash, announcePort: 6000 });
  seeder.setWantPeers(false);
  seeder.start(() => undefined);
  return seeder;
}

/**
 * A leecher on a new node whose only bootstrap node is silent (as a bootstrap node still verifying its
 * pool gives no nodes), so its lookups find nobody until it is given contacts.
 */
function silentLeecher(sim: SimNetwork, infoHash: Uint8Array) {
  const node = sim.addNode().node;
  node.setBootstrap([{ host: '10.200.0.1', port: 6881 }]);
  const found: string[] = [];
  const source = new DhtPeerSource({ nodes: [node], clock: sim.clock }, { infoHash, relookupMs: 60_000 });
  source.start((p) => found.push(`${p.host}:${p.port}`));
  const giveContacts = (): void => node.addHints(sim.nodes.slice(0, 20).map((n) => ({ id: n.node.id, host: n.host, port: 6881 })));
  return { source, found, giveContacts };
}

describe('DhtPeerSource', () => {
  it('announces a seeder, finds it from a leecher, and re-announces while seeding', async () => {
    const sim = await network(31, 60);
    const infoHash = sim.random.bytes(20);

    const seeder = startSeeder(sim, 10, infoHash);
    await sim.clock.advanceAsync(3_000, 20);
    expect(seeder.stats.announces).toBe(1);
    expect(seeder.stats.announcedTo).toBeGreaterThanOrEqual(6);

    const found: string[] = [];
    const leecher = new DhtPeerSource({ nodes: [sim.nodes[50]!.node], clock: sim.clock }, { infoHash });
    leecher.start((p) => found.push(`${p.host}:${p.port}`));
    await sim.clock.advanceAsync(3_000, 20);
    expect(found).toContain(`${sim.nodes[10]!.host}:6000`);

    // Still seeding 15 minutes later: a fresh lookup and a second announce.
    await sim.clock.advanceAsync(DHT_REANNOUNCE_MS + 5_000, 200);
    expect(seeder.stats.announces).toBe(2);
    // The leecher keeps looking while it wants peers, never two lookups at once.
    expect(leecher.stats.lookups).toBeGreaterThanOrEqual(5);
    seeder.stop();
    leecher.stop();
    sim.close();
  });

  it('lookSoon runs the next lookup right after the current one, not at the next re-lookup', async () => {
    const sim = await network(32, 40);
    const infoHash = sim.random.bytes(20);
    const seeder = startSeeder(sim, 5, infoHash);
    await sim.clock.advanceAsync(3_000, 20);

    // The leecher's first lookup finds nothing.
    const leecher = silentLeecher(sim, infoHash);
    // Saved contacts arrive while that lookup still waits on the silent node.
    leecher.giveContacts();
    leecher.source.lookSoon();
    expect(leecher.source.stats.lookups).toBe(1); // never two at once
    await sim.clock.advanceAsync(5_000, 50);
    expect(leecher.source.stats.lookups).toBe(2);
    expect(leecher.found).toContain(`${sim.nodes[5]!.host}:6000`);
    seeder.stop();
    leecher.source.stop();
    sim.close();
  });

  it('after a lookup that found nobody, looks again soon, backing off towards the usual interval', async () => {
    const sim = await network(33, 40);
    const infoHash = sim.random.bytes(20);
    const leecher = silentLeecher(sim, infoHash);
    await sim.clock.advanceAsync(20_000, 200);
    const emptyLookups = leecher.source.stats.lookups;
    expect(emptyLookups).toBeGreaterThanOrEqual(3);
    // Each retry waits twice as long as the one before: far fewer than one per EMPTY_RETRY_FIRST_MS.
    expect(emptyLookups).toBeLessThan(20_000 / EMPTY_RETRY_FIRST_MS / 4);

    // The network becomes reachable and a seeder announces: a retry finds it well before the 60 s interval.
    leecher.giveContacts();
    const seeder = startSeeder(sim, 5, infoHash);
    await sim.clock.advanceAsync(20_000, 200);
    expect(leecher.found).toContain(`${sim.nodes[5]!.host}:6000`);

    // Once peers are found, the usual interval applies again.
    const after = leecher.source.stats.lookups;
    await sim.clock.advanceAsync(30_000, 200);
    expect(leecher.source.stats.lookups).toBe(after);
    seeder.stop();
    leecher.source.stop();
    sim.close();
  });
});
