/** BEP 42 in the node: our id follows our external IP; others' ids preferred or required to match theirs. */
import { describe, expect, it } from 'vitest';
import { idForAddress, isValidIdForAddress } from '../../src/dht/bep42.js';
import { DhtNode } from '../../src/dht/node.js';
import type { NodeId } from '../../src/dht/node-id.js';
import { RoutingTable } from '../../src/dht/routing-table.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from '../support/fake-clock.js';
import { MemoryNetwork } from '../support/memory-network.js';

const T0 = 1_000_000;

describe('BEP 42 in the routing table', () => {
  const random = new SeededRandom(5);
  const local = random.bytes(20) as NodeId;

  it("'require' refuses ids that do not match a public address", () => {
    const t = new RoutingTable({ localId: local, bep42: 'require' }, T0);
    expect(t.heardFrom(random.bytes(20) as NodeId, { host: '8.8.8.8', port: 1 }, T0)).toMatchObject({ reason: 'bep42' });
    expect(t.heardFrom(idForAddress('8.8.8.8', random)!, { host: '8.8.8.8', port: 1 }, T0).status).toBe('added');
  });

  it("'prefer' gives a node with an invalid id up for a valid newcomer when the bucket is full", () => {
    const t = new RoutingTable({ localId: local, bep42: 'prefer' }, T0);
    // Eight far-half nodes with random (invalid) ids fill the far bucket.
    let added = 0;
    for (let i = 0; added < 8 && i < 200; i++) {
      const id = random.bytes(20) as NodeId;
      if (((id[0]! ^ local[0]!) & 0x80) === 0) continue;
      if (t.heardFrom(id, { host: `9.9.9.${i}`, port: 1 }, T0).status === 'added') added++;
    }
    let valid: NodeId | undefined;
    for (let i = 0; i < 500 && !valid; i++) {
      const id = idForAddress('7.7.7.7', random)!;
      if (((id[0]! ^ local[0]!) & 0x80) !== 0) valid = id;
    }
    expect(t.heardFrom(valid!, { host: '7.7.7.7', port: 1 }, T0 + 1).status).toBe('added');
    expect(t.size).toBe(8);
  });
});

describe('BEP 42 for our own id', () => {
  it('takes an id matching the external address two responders report, and keeps its table', async () => {
    const clock = new FakeClock();
    const random = new SeededRandom(8);
    const net = new MemoryNetwork(clock, random.fork());
    const others = Array.from({ length: 4 }, (_, i) => new DhtNode({ clock, random: random.fork(), transport: net.bind(`5.5.5.${i + 1}`, 6881) }));
    const me = new DhtNode(
      { clock, random: random.fork(), transport: net.bind('6.6.6.6', 6881) },
      { deriveIdFromIp: true, bootstrap: [{ host: '5.5.5.1', port: 6881 }] },
    );
    for (const o of others) o.setBootstrap([{ host: '5.5.5.1', port: 6881 }]);
    const oldId = me.id;
    expect(isValidIdForAddress(oldId, '6.6.6.6')).toBe(false);
    for (const o of others.slice(1)) void o.bootstrap();
    await clock.advanceAsync(2_000, 20);
    void me.bootstrap();
    await clock.advanceAsync(3_000, 20);
    expect(me.externalIp()).toBe('6.6.6.6');
    expect(isValidIdForAddress(me.id, '6.6.6.6')).toBe(true);
    expect(me.table.localId).toBe(me.id);
    expect(me.table.size).toBeGreaterThanOrEqual(3);
    for (const n of [...others, me]) n.close();
  });
});
