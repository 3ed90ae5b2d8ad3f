import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/bencode.js';
import { decodeMessage, encodeResponse } from '../../src/krpc/messages.js';
import { Rpc, RpcError } from '../../src/krpc/rpc.js';
import { utf8 } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from '../support/fake-clock.js';
import { MemoryNetwork } from '../support/memory-network.js';

const ID = utf8('abcdefghij0123456789');
const ctx = { version: utf8('DN01') };

function setup(options = {}) {
  const clock = new FakeClock();
  const random = new SeededRandom(1);
  const net = new MemoryNetwork(clock, random, { minLatencyMs: 10, maxLatencyMs: 10 });
  const a = net.bind('10.0.0.1', 1000);
  const b = net.bind('10.0.0.2', 2000);
  const rpcA = new Rpc({ clock, random, transport: a, encoding: ctx }, options);
  const rpcB = new Rpc({ clock, random, transport: b, encoding: ctx }, options);
  return { clock, net, a, b, rpcA, rpcB };
}

describe('Rpc', () => {
  it('answers a query and matches the response', async () => {
    const { clock, rpcA, rpcB } = setup();
    rpcB.onQuery((q) => ({ kind: 'response', fields: { id: ID } }));
    const p = rpcA.query({ host: '10.0.0.2', port: 2000 }, ID, { method: 'ping' });
    await clock.advanceAsync(50);
    const answer = await p;
    expect(answer.from).toEqual({ host: '10.0.0.2', port: 2000 });
    expect(rpcA.stats.responses).toBe(1);
    expect(rpcB.stats.queriesReceived).toBe(1);
  });

  it('retries once, then times out', async () => {
    const { clock, net, rpcA } = setup({ timeoutMs: 2000, retries: 1 });
    net.kill('10.0.0.2');
    const p = rpcA.query({ host: '10.0.0.2', port: 2000 }, ID, { method: 'ping' });
    const settled = p.catch((e: unknown) => e);
    await clock.advanceAsync(2100);
    expect(rpcA.stats.retries).toBe(1);
    await clock.advanceAsync(2000);
    const err = await settled;
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).code).toBe('rpc_timeout');
    expect(rpcA.inFlight).toBe(0);
  });

  it('ignores a reply with the right transaction id from the wrong address', async () => {
    const { clock, net, a, rpcA } = setup({ timeoutMs: 1000, retries: 0 });
    const spoofer = net.bind('10.0.0.66', 2000);
    let sentT: Uint8Array | undefined;
    const origSend = a.send.bind(a);
    a.send = (data, to) => {
      const m = decodeMessage(data);
      sentT = m.t;
      origSend(data, to);
    };
    net.kill('10.0.0.2');
    const p = rpcA.query({ host: '10.0.0.2', port: 2000 }, ID, { method: 'ping' }).catch((e: unknown) => e);
    spoofer.send(encodeResponse(sentT!, { id: ID }, { host: '10.0.0.1', port: 1000 }, ctx), { host: '10.0.0.1', port: 1000 });
    await clock.advanceAsync(1100);
    expect(((await p) as RpcError).code).toBe('rpc_timeout');
    expect(rpcA.stats.unmatched).toBe(1);
  });

  it('sends 203 for a malformed query and 204 for an unknown method', async () => {
    const { clock, a, b, rpcB } = setup();
    rpcB.onQuery(() => ({ kind: 'error', code: 204, message: 'method unknown' }));
    const replies: unknown[] = [];
    a.onDatagram((data) => replies.push(decodeMessage(data)));
    a.send(encode({ t: 'xy', y: 'q', q: 'find_node', a: { id: ID } }), b.local);
    a.send(encode({ t: 'zz', y: 'q', q: 'vote', a: { id: ID } }), b.local);
    a.send(utf8('garbage'), b.local);
    await clock.advanceAsync(50);
    expect(replies).toHaveLength(2);
    expect(replies).toContainEqual(expect.objectContaining({ kind: 'error', code: 203 }));
    expect(replies).toContainEqual(expect.objectContaining({ kind: 'error', code: 204 }));
    expect(rpcB.stats.dropped.bencode_unexpected).toBe(1);
  });

  it('caps queries in flight and queues the rest', async () => {
    const { clock, rpcA, rpcB } = setup({ maxInFlight: 2, maxQueued: 1 });
    rpcB.onQuery(() => ({ kind: 'response', fields: { id: ID } }));
    const to = { host: '10.0.0.2', port: 2000 };
    const ps = [0, 1, 2].map(() => rpcA.query(to, ID, { method: 'ping' }));
    const overloaded = await rpcA.query(to, ID, { method: 'ping' }).catch((e: unknown) => e);
    expect((overloaded as RpcError).code).toBe('rpc_overloaded');
    expect(rpcA.inFlight).toBe(2);
    await clock.advanceAsync(100);
    await Promise.all(ps);
    expect(rpcA.stats.responses).toBe(3);
  });

  it('rate-limits a flooding address', async () => {
    const { clock, a, b, rpcB } = setup({ ipRateLimit: 5 });
    rpcB.onQuery(() => ({ kind: 'response', fields: { id: ID } }));
    for (let i = 0; i < 80; i++) a.send(encode({ t: [i & 255].map(String).join(''), y: 'q', q: 'ping', a: { id: ID } }), b.local);
    await clock.advanceAsync(50);
    expect(rpcB.stats.rateLimited).toBe(30);
  });

  it('a handler that throws answers 202 and the node lives on', async () => {
    const { clock, a, b, rpcB } = setup();
    rpcB.onQuery(() => {
      throw new Error('bug');
    });
    const replies: unknown[] = [];
    a.onDatagram((data) => replies.push(decodeMessage(data)));
    a.send(encode({ t: 'aa', y: 'q', q: 'ping', a: { id: ID } }), b.local);
    await clock.advanceAsync(50);
    expect(replies).toEqual([expect.objectContaining({ kind: 'error', code: 202 })]);
  });

  it('keeps to the outbound budget, starting queued queries as it refills', async () => {
    const { clock, net, a, rpcA } = setup({ maxQueriesPerSecond: 10, timeoutMs: 60_000 });
    net.kill('10.0.0.2');
    let sent = 0;
    const send = a.send.bind(a);
    a.send = (data, to) => {
      sent++;
      send(data, to);
    };
    const all = Array.from({ length: 30 }, () => rpcA.query({ host: '10.0.0.2', port: 2000 }, ID, { method: 'ping' }).catch((e: unknown) => e));
    expect(sent).toBe(10);
    await clock.advanceAsync(1000);
    expect(sent).toBeGreaterThanOrEqual(19);
    expect(sent).toBeLessThanOrEqual(21);
    await clock.advanceAsync(1000);
    expect(sent).toBe(30);
    expect(rpcA.stats.budgetWaits).toBeGreaterThan(0);
    rpcA.close();
    for (const e of await Promise.all(all)) expect((e as RpcError).code).toBe('rpc_closed');
  });

  it('rejects queries still waiting when closed', async () => {
    const { rpcA } = setup({ maxInFlight: 1 });
    const first = rpcA.query({ host: '10.0.0.2', port: 2000 }, ID, { method: 'ping' }).catch((e: unknown) => e);
    const queued = rpcA.query({ host: '10.0.0.2', port: 2000 }, ID, { method: 'ping' }).catch((e: unknown) => e);
    rpcA.close();
    expect(((await first) as RpcError).code).toBe('rpc_closed');
    expect(((await queued) as RpcError).code).toBe('rpc_closed');
  });
});
