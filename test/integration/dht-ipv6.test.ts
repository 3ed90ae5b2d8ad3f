/**
 * BEP 32 on loopback: nodes with an IPv4 and an IPv6 socket (::1). Over IPv6 the tables fill with IPv6
 * nodes, a peer announced over one family is found over the other (one shared peer store), and a query
 * whose `want` asks for both families gets `nodes` and `nodes6`.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDht, type RunningDht } from '../../src/app/dht.js';
import { encode } from '../../src/codec/bencode.js';
import { decodeMessage } from '../../src/krpc/messages.js';
import { stopAll } from '../support/udp-nodes.js';

describe('BEP 32: IPv6 beside IPv4', () => {
  let nodes: RunningDht[] = [];

  beforeAll(async () => {
    // ::1 is this machine's only IPv6 address, so one-entry-per-IP is off for the test.
    const common = { port: 0, allowLocal: true, onePerIp: false, rpc: { ipRateLimit: 0 } };
    const first = await startDht({ ...common, bind: '127.0.8.1', bind6: '::1', bootstrap: [] });
    expect(first.transport6).toBeDefined();
    nodes.push(first);
    const entries = [
      { host: '127.0.8.1', port: first.transport.local.port },
      { host: '::1', port: first.transport6!.local.port },
    ];
    for (let i = 2; i <= 12; i++) nodes.push(await startDht({ ...common, bind: `127.0.8.${i}`, bind6: '::1', bootstrap: entries }));
    for (const n of nodes.slice(1)) await Promise.all(n.nodes.map((x) => x.bootstrap()));
  });

  afterAll(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('fills an IPv6 table with IPv6 nodes only', () => {
    const sizes = nodes.map((n) => n.node6!.table.size);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(4);
    for (const n of nodes) for (const c of n.node6!.table.all()) expect(c.host).toBe('::1');
    for (const n of nodes) for (const c of n.node.table.all()) expect(c.host).toMatch(/^127\./);
  });

  it('finds over IPv6 a peer announced over IPv4', async () => {
    const infoHash = new Uint8Array(20).fill(0x61);
    const announcer = nodes[3]!;
    let closest;
    for await (const e of announcer.node.lookup(infoHash, { getPeers: true })) if (e.type === 'done') closest = e.summary.closest;
    expect((await announcer.node.announce(infoHash, closest!, 7777)).ok).toBeGreaterThanOrEqual(4);
    const found: string[] = [];
    for await (const e of nodes[9]!.node6!.lookup(infoHash, { getPeers: true })) if (e.type === 'peer') found.push(`${e.peer.host}:${e.peer.port}`);
    expect(found).toContain(`${announcer.transport.local.host}:7777`);
  });

  it('answers want n4+n6 with nodes and nodes6', async () => {
    const target = nodes[5]!;
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.8.99', r));
    // The node also pings us (to verify a querier before it may enter its table): wait for the response.
    const reply = new Promise<ReturnType<typeof decodeMessage>>((resolve) =>
      sock.on('message', (raw) => {
        const m = decodeMessage(new Uint8Array(raw));
        if (m.kind === 'response') resolve(m);
      }),
    );
    sock.send(encode({ t: 'w1', y: 'q', q: 'find_node', a: { id: new Uint8Array(20).fill(1), target: new Uint8Array(20).fill(2), want: ['n4', 'n6'] } }), target.transport.local.port, target.transport.local.host);
    const m = await reply;
    sock.close();
    expect(m.kind).toBe('response');
    if (m.kind !== 'response') return;
    expect(m.body.nodes!.length).toBeGreaterThanOrEqual(4);
    expect(m.body.nodes6!.length).toBeGreaterThanOrEqual(4);
    expect(m.body.nodes6!.every((n) => n.host === '::1')).toBe(true);
  });
});
