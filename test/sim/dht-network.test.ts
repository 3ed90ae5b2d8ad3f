/**
 * A simulated Mainline DHT of 500 of our nodes in one process (in-memory network, fake clock, seeded).
 * Asserts network properties: tables deep enough, announced infohashes found from random nodes, lookups
 * cheap, and lookups still succeeding after a quarter of the nodes die.
 */
import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../support/sim-network.js';
import { median } from '../support/stats.js';
import { commonPrefixLength } from '../../src/dht/node-id.js';

const NODES = 500;
const LOOKUPS = 30;

describe('simulated network of 500 nodes', () => {
  it('bootstraps, finds announced peers, and survives 25% churn', async () => {
    const sim = new SimNetwork(2024);
    for (let i = 0; i < NODES; i++) sim.addNode();
    await sim.bootstrapAll();

    // Right after joining, before any maintenance: every node knows someone in the far half of the id
    // space (common prefix 0), or it could not route there at all.
    const blindToFarHalf = sim.nodes.filter((n) => !n.node.table.all().some((c) => commonPrefixLength(c.id, n.node.id) === 0));
    expect(blindToFarHalf).toHaveLength(0);

    // Let maintenance refresh stale ranges for a while (virtual time).
    for (const n of sim.nodes) n.node.start();
    await sim.clock.advanceAsync(120_000, 50);

    const sizes = sim.nodes.map((n) => n.node.table.size);
    const depths = sim.nodes.map((n) => n.node.table.depth());
    // log2(500 / 8) is about 6: a healthy table reaches that deep and holds several buckets' worth.
    expect(median(depths)).toBeGreaterThanOrEqual(5);
    expect(median(sizes)).toBeGreaterThanOrEqual(30);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(8);

    // Three peers announce the same infohash.
    const infoHash = sim.random.bytes(20);
    const announcers = [sim.nodes[17], sim.nodes[233], sim.nodes[401]];
    for (const [i, a] of announcers.entries()) {
      const { summary } = await sim.findPeers(a!, infoHash);
      const result = await sim.run(a!.node.announce(infoHash, summary.closest, 7000 + i));
      expect(result.ok).toBeGreaterThanOrEqual(6);
    }

    const lookupFromRandom = async (candidates: typeof sim.nodes) => {
      let found = 0;
      const queries: number[] = [];
      const failures: number[] = [];
      const ms: number[] = [];
      for (let i = 0; i < LOOKUPS; i++) {
        const from = candidates[sim.random.int(candidates.length)]!;
        const { peers, summary } = await sim.findPeers(from, infoHash);
        if (peers.length >= 1) found++;
        queries.push(summary.queries);
        failures.push(summary.unanswered);
        ms.push(summary.ms);
      }
      return {
        successRate: found / LOOKUPS,
        medianQueries: median(queries),
        maxQueries: Math.max(...queries),
        failures: failures.reduce((a, b) => a + b, 0),
        medianMs: median(ms),
      };
    };

    const before = await lookupFromRandom(sim.nodes);
    expect(before.successRate).toBe(1);
    expect(before.medianQueries).toBeLessThanOrEqual(30);

    // Kill a quarter of the nodes (never the three announcers' records: those live on other nodes).
    const victims = sim.nodes.slice(1).filter(() => sim.random.float() < 0.25);
    for (const v of victims) sim.net.kill(v.host);
    const alive = sim.nodes.filter((n) => !victims.includes(n));
    const after = await lookupFromRandom(alive);
    expect(victims.length).toBeGreaterThan(NODES * 0.2);
    expect(after.successRate).toBeGreaterThanOrEqual(0.95);
    expect(after.medianQueries).toBeLessThanOrEqual(40);
    // The churn really hit the lookups: some queries went to dead nodes and were not waited for.
    expect(after.failures).toBeGreaterThan(0);
    console.info(
      `sim ${NODES} nodes: median table ${median(sizes)}, median depth ${median(depths)}; ` +
        `before churn success ${before.successRate}, median queries ${before.medianQueries} (max ${before.maxQueries}); ` +
        `after killing ${victims.length}: success ${after.successRate}, median queries ${after.medianQueries} (max ${after.maxQueries}), ` +
        `unanswered queries ${after.failures}, median virtual ms ${before.medianMs} -> ${after.medianMs}`,
    );
    sim.close();
  });
});
