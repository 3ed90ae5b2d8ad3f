import { describe, expect, it } from 'vitest';
import { DHT_REANNOUNCE_MS, DhtPeerSource, EMPTY_RETRY_FIRST_MS } from '../../src/discovery/dht-source.js';
import { SimNetwork } from '../support/sim-network.js';

describe('DhtPeerSource', () => {
  it('announces a seeder, finds it from a leecher, and re-announces while seeding', async () => {
    const sim = new SimNetwork(31);
    for (let i = 0; i < 60; i++) sim.addNode();
    await sim.bootstrapAll();
    const infoHash = sim.random.bytes(20);

    const seeder = new DhtPeerSource({ nodes: [sim.nodes[10]!.node], clock: sim.clock }, { infoHash, announcePort: 6000 });
    seeder.setWantPeers(false);
    seeder.start(() => undefined);
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
    const sim = new SimNetwork(32);
    for (let i = 0; i < 40; i++) sim.addNode();
    await sim.bootstrapAll();
    const infoHash = sim.random.bytes(20);
    const seeder = new DhtPeerSource({ nodes: [sim.nodes[5]!.node], clock: sim.clock }, { infoHash, announcePort: 6000 });
    seeder.setWantPeers(false);
    seeder.start(() => undefined);
    await sim.clock.advanceAsync(3_000, 20);

    // A leecher whose only bootstrap node is silent: its first lookup finds nothing.
    const leecherNode = sim.addNode().node;
    leecherNode.setBootstrap([{ host: '10.200.0.1', port: 6881 }]);
    const found: string[] = [];
    const leecher = new DhtPeerSource({ nodes: [leecherNode], clock: sim.clock }, { infoHash, relookupMs: 60_000 });
    leecher.start((p) => found.push(`${p.host}:${p.port}`));
    // Saved contacts arrive while that lookup still waits on the silent node.
    leecherNode.addHints(sim.nodes.slice(0, 20).map((n) => ({ id: n.node.id, host: n.host, port: 6881 })));
    leecher.lookSoon();
    expect(leecher.stats.lookups).toBe(1); // never two at once
    await sim.clock.advanceAsync(5_000, 50);
    expect(leecher.stats.lookups).toBe(2);
    expect(found).toContain(`${sim.nodes[5]!.host}:6000`);
    seeder.stop();
    leecher.stop();
    sim.close();
  });

  it('after a lookup that found nobody, looks again soon, backing off towards the usual interval', async () => {
    const sim = new SimNetwork(33);
    for (let i = 0; i < 40; i++) sim.addNode();
    await sim.bootstrapAll();
    const infoHash = sim.random.bytes(20);
    // A leecher whose only bootstrap node is silent (as a bootstrap node still verifying its pool gives
    // no nodes): each lookup finds nobody.
    const leecherNode = sim.addNode().node;
    leecherNode.setBootstrap([{ host: '10.200.0.1', port: 6881 }]);
    const found: string[] = [];
    const leecher = new DhtPeerSource({ nodes: [leecherNode], clock: sim.clock }, { infoHash, relookupMs: 60_000 });
    leecher.start((p) => found.push(`${p.host}:${p.port}`));
    await sim.clock.advanceAsync(20_000, 200);
    const emptyLookups = leecher.stats.lookups;
    expect(emptyLookups).toBeGreaterThanOrEqual(3);
    // Each retry waits twice as long as the one before: far fewer than one per EMPTY_RETRY_FIRST_MS.
    expect(emptyLookups).toBeLessThan(20_000 / EMPTY_RETRY_FIRST_MS / 4);

    // The network becomes reachable and a seeder announces: a retry finds it well before the 60 s interval.
    leecherNode.addHints(sim.nodes.slice(0, 20).map((n) => ({ id: n.node.id, host: n.host, port: 6881 })));
    const seeder = new DhtPeerSource({ nodes: [sim.nodes[5]!.node], clock: sim.clock }, { infoHash, announcePort: 6000 });
    seeder.setWantPeers(false);
    seeder.start(() => undefined);
    await sim.clock.advanceAsync(20_000, 200);
    expect(found).toContain(`${sim.nodes[5]!.host}:6000`);

    // Once peers are found, the usual interval applies again.
    const after = leecher.stats.lookups;
    await sim.clock.advanceAsync(30_000, 200);
    expect(leecher.stats.lookups).toBe(after);
    seeder.stop();
    leecher.stop();
    sim.close();
  });
});
