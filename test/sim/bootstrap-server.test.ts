/**
 * 200 of our nodes join through our bootstrap node on a simulated network (fake clock, short ping delay):
 * all end up with healthy tables, the pool fills with verified nodes only, and replies spread over the
 * pool rather than repeating the same few nodes.
 */
import { describe, expect, it } from 'vitest';
import { BootstrapServer } from '../../src/dht/bootstrap-server.js';
import { DhtNode } from '../../src/dht/node.js';
import { decodeMessage, encodeQuery } from '../../src/krpc/messages.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from '../support/fake-clock.js';
import { MemoryNetwork } from '../support/memory-network.js';
import { median } from '../support/stats.js';

describe('bootstrap node with 200 joiners (simulated)', () => {
  it('verifies joiners before handing them out, and spreads replies over the pool', async () => {
    const clock = new FakeClock();
    const random = new SeededRandom(77);
    const net = new MemoryNetwork(clock, random.fork());
    const server = new BootstrapServer(
      { clock, random: random.fork(), transport: net.bind('10.255.0.1', 6881) },
      { pingDelayMs: 2_000, allowLocal: true },
    );
    server.start();
    const entry = [{ host: '10.255.0.1', port: 6881 }];
    const nodes: DhtNode[] = [];
    for (let i = 0; i < 200; i++) {
      const transport = net.bind(`10.0.${i >> 8}.${(i & 255) + 1}`, 6881);
      const node = new DhtNode({ clock, random: random.fork(), transport }, { allowLocal: true, bootstrap: entry });
      node.start();
      void node.bootstrap();
      nodes.push(node);
      await clock.advanceAsync(100, 20);
    }
    // A node that never answers pings must never enter the pool.
    const liar = net.bind('10.9.9.9', 6881);
    liar.send(encodeQuery(new Uint8Array([1, 1]), random.bytes(20), { method: 'find_node', target: random.bytes(20) }, { version: new Uint8Array(0) }), entry[0]!);
    net.kill('10.9.9.9');
    // Nodes re-bootstrap while their tables are thin (maintenance, every few seconds); give them a minute.
    await clock.advanceAsync(60_000, 50);

    const stats = server.stats();
    expect(stats.poolSize).toBeGreaterThanOrEqual(190);
    expect(server.pool.has('10.9.9.9')).toBe(false);
    const sizes = nodes.map((n) => n.table.size);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(8);
    expect(median(sizes)).toBeGreaterThanOrEqual(20);

    // Ask the bootstrap node 12 times from 12 new addresses: the answers cover the pool, not one hot set.
    const seen = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const asker = net.bind(`10.8.0.${i + 1}`, 6881);
      asker.onDatagram((data) => {
        const m = decodeMessage(data);
        if (m.kind === 'response') for (const n of m.body.nodes ?? []) seen.set(n.host, (seen.get(n.host) ?? 0) + 1);
      });
      asker.send(encodeQuery(new Uint8Array([2, i]), random.bytes(20), { method: 'find_node', target: random.bytes(20) }, { version: new Uint8Array(0) }), entry[0]!);
    }
    await clock.advanceAsync(200, 20);
    expect(seen.size).toBeGreaterThanOrEqual(12 * 16 * 0.9);
    expect(Math.max(...seen.values())).toBeLessThanOrEqual(2);
    for (const n of nodes) n.close();
    server.close();
  });
});
