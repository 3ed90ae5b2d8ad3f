import { describe, expect, it } from 'vitest';
import { GOOD_NODE_MS, MAX_NODE_FAILURES } from '../../src/dht/constants.js';
import { commonPrefixLength, randomIdWithPrefix, type NodeId } from '../../src/dht/node-id.js';
import { RoutingTable } from '../../src/dht/routing-table.js';
import { SeededRandom } from '../../src/util/random.js';

const random = new SeededRandom(9);
const local = random.bytes(20) as NodeId;
const T0 = 1_000_000;

function table(allowLocal = true) {
  return new RoutingTable({ localId: local, allowLocal }, T0);
}

/** An id in the far half (first bit differs from ours): all such ids share one bucket. */
function farId(): NodeId {
  return randomIdWithPrefix(random, local, 0);
}

describe('RoutingTable admission', () => {
  it('refuses ourselves, port 0, unroutable and (by default) local addresses', () => {
    const t = table(false);
    expect(t.heardFrom(local, { host: '1.2.3.4', port: 1 }, T0)).toMatchObject({ status: 'rejected', reason: 'self' });
    expect(t.heardFrom(farId(), { host: '1.2.3.4', port: 0 }, T0)).toMatchObject({ reason: 'address' });
    expect(t.heardFrom(farId(), { host: '0.1.2.3', port: 1 }, T0)).toMatchObject({ reason: 'address' });
    expect(t.heardFrom(farId(), { host: '239.1.1.1', port: 1 }, T0)).toMatchObject({ reason: 'address' });
    expect(t.heardFrom(farId(), { host: '255.255.255.255', port: 1 }, T0)).toMatchObject({ reason: 'address' });
    expect(t.heardFrom(farId(), { host: '127.0.0.2', port: 1 }, T0)).toMatchObject({ reason: 'address' });
    expect(t.heardFrom(farId(), { host: '192.168.1.5', port: 1 }, T0)).toMatchObject({ reason: 'address' });
    expect(t.heardFrom(farId(), { host: '8.8.4.4', port: 1 }, T0)).toEqual({ status: 'added' });
    expect(table(true).heardFrom(farId(), { host: '127.0.0.2', port: 1 }, T0)).toEqual({ status: 'added' });
  });

  it('keeps one entry per IP and no duplicates', () => {
    const t = table();
    const id = farId();
    expect(t.heardFrom(id, { host: '10.0.0.1', port: 1 }, T0).status).toBe('added');
    expect(t.heardFrom(id, { host: '10.0.0.1', port: 1 }, T0).status).toBe('updated');
    expect(t.heardFrom(farId(), { host: '10.0.0.1', port: 2 }, T0)).toMatchObject({ reason: 'ip_taken' });
    expect(t.heardFrom(id, { host: '10.0.0.9', port: 1 }, T0)).toMatchObject({ reason: 'id_moved' });
    expect(t.size).toBe(1);
  });
});

describe('RoutingTable node states and full buckets', () => {
  it('follows the BEP 5 15-minute rules', () => {
    const t = table();
    const id = farId();
    t.heardFrom(id, { host: '10.0.0.1', port: 1 }, T0);
    const c = t.get(id)!;
    expect(t.state(c, T0 + GOOD_NODE_MS - 1)).toBe('good');
    expect(t.state(c, T0 + GOOD_NODE_MS)).toBe('questionable');
    t.queriedBy(id, { host: '10.0.0.1', port: 1 }, T0 + GOOD_NODE_MS);
    expect(t.state(c, T0 + GOOD_NODE_MS + 1000)).toBe('good');
    for (let i = 0; i < MAX_NODE_FAILURES; i++) t.failed(id, T0);
    expect(t.get(id)).toBeNull();
  });

  it('drops a newcomer when the bucket is full of good nodes', () => {
    const t = table();
    for (let i = 0; i < 8; i++) t.heardFrom(farId(), { host: `10.0.1.${i}`, port: 1 }, T0);
    expect(t.heardFrom(farId(), { host: '10.0.2.1', port: 1 }, T0 + 1000)).toEqual({ status: 'dropped' });
    expect(t.stats.droppedFull).toBe(1);
  });

  it('evicts a bad node at once', () => {
    const t = table();
    const ids = Array.from({ length: 8 }, () => farId());
    ids.forEach((id, i) => t.heardFrom(id, { host: `10.0.1.${i}`, port: 1 }, T0));
    const c = t.get(ids[3]!)!;
    c.failures = MAX_NODE_FAILURES;
    const newcomer = farId();
    expect(t.heardFrom(newcomer, { host: '10.0.2.1', port: 1 }, T0 + 1000)).toEqual({ status: 'added' });
    expect(t.get(ids[3]!)).toBeNull();
    expect(t.get(newcomer)).not.toBeNull();
  });

  it('asks to ping the stalest questionable node, and the newcomer takes its place if it fails', () => {
    const t = table();
    const ids = Array.from({ length: 8 }, () => farId());
    ids.forEach((id, i) => t.heardFrom(id, { host: `10.0.1.${i}`, port: 1 }, T0 + i));
    const later = T0 + GOOD_NODE_MS + 100;
    const newcomer = farId();
    const r = t.heardFrom(newcomer, { host: '10.0.2.1', port: 1 }, later);
    expect(r.status).toBe('pending');
    if (r.status !== 'pending') return;
    expect(r.ping.id).toEqual(ids[0]);
    for (let i = 0; i < MAX_NODE_FAILURES; i++) t.failed(r.ping.id, later);
    expect(t.get(ids[0]!)).toBeNull();
    expect(t.get(newcomer)).not.toBeNull();
    expect(t.stats.replacedAfterPing).toBe(1);
  });
});

describe('RoutingTable closest and refresh', () => {
  it('returns the K closest by exact XOR distance', () => {
    const t = table();
    const all: NodeId[] = [];
    for (let i = 0; i < 300; i++) {
      const id = random.bytes(20) as NodeId;
      if (t.heardFrom(id, { host: `10.1.${i >> 8}.${i & 255}`, port: 1 }, T0).status === 'added') all.push(id);
    }
    const target = random.bytes(20);
    const got = t.closest(target, 8, T0).map((c) => Buffer.from(c.id).toString('hex'));
    const inTable = t.all().map((c) => c.id);
    const expected = inTable
      .map((id) => ({ id, d: Buffer.from(id.map((x, i) => x ^ target[i]!)) }))
      .sort((a, b) => Buffer.compare(a.d, b.d))
      .slice(0, 8)
      .map((x) => Buffer.from(x.id).toString('hex'));
    expect(got).toEqual(expected);
    expect(t.depth()).toBeGreaterThan(3);
  });

  it('reports ranges quiet for 15 minutes as stale', () => {
    const t = table();
    t.heardFrom(randomIdWithPrefix(random, local, 2), { host: '10.0.0.1', port: 1 }, T0);
    expect(t.staleRanges(T0)).toEqual([0, 1]);
    expect(t.staleRanges(T0 + GOOD_NODE_MS)).toEqual([0, 1, 2]);
    t.touchRange(0, T0 + GOOD_NODE_MS);
    expect(t.staleRanges(T0 + GOOD_NODE_MS)).toEqual([1, 2]);
  });

  it('random ids with a prefix share exactly that many bits', () => {
    for (const bits of [0, 1, 7, 8, 9, 100, 159]) {
      expect(commonPrefixLength(randomIdWithPrefix(random, local, bits), local)).toBe(bits);
    }
  });
});
