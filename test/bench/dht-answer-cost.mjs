#!/usr/bin/env node
/**
 * In-process cost of answering one query (decode, handle, encode), without sockets: the part of a DHT
 * node's throughput that is ours, free of the kernel's UDP cost and of load-generator noise.
 *   npm run build && node test/bench/dht-answer-cost.mjs [--queries 200000]
 * Prints microseconds per answered ping, find_node and get_peers with a 400-contact routing table.
 */
import { parseArgs } from 'node:util';
import bencode from 'bencode';
import { DhtNode } from '../../dist/dht/node.js';
import { SystemClock } from '../../dist/util/clock.js';
import { SeededRandom } from '../../dist/util/random.js';

const { values } = parseArgs({ options: { queries: { type: 'string', default: '200000' } } });
const N = Number(values.queries);

function measure(method) {
  let handler;
  let sent = 0;
  const transport = { local: { host: '10.0.0.1', port: 6881 }, send() { sent++; }, onDatagram(h) { handler = h; }, async close() {} };
  const random = new SeededRandom(1);
  const clock = new SystemClock();
  const node = new DhtNode({ clock, random, transport }, { allowLocal: true, rpc: { ipRateLimit: 0 } });
  for (let i = 0; i < 400; i++) node.table.heardFrom(random.bytes(20), { host: `10.1.${i >> 8}.${i & 255}`, port: 6881 }, clock.now());
  const msgs = [];
  for (let i = 0; i < 1000; i++) {
    const a = method === 'find_node' ? { id: random.bytes(20), target: random.bytes(20) } : method === 'get_peers' ? { id: random.bytes(20), info_hash: random.bytes(20) } : { id: random.bytes(20) };
    msgs.push(bencode.encode({ t: 'aa', y: 'q', q: method, a }));
  }
  const from = { host: '10.9.9.9', port: 1234 };
  for (let i = 0; i < 20000; i++) handler(msgs[i % 1000], from); // warm-up
  const start = performance.now();
  for (let i = 0; i < N; i++) handler(msgs[i % 1000], from);
  const us = ((performance.now() - start) * 1000) / N;
  node.close();
  return { method, us, perSecond: Math.round(1e6 / us), table: node.table.size, answered: sent };
}

console.log('| query | µs per answer | answers/s (one core, no sockets) |');
console.log('|---|---|---|');
for (const m of ['ping', 'find_node', 'get_peers']) {
  const r = measure(m);
  console.log(`| ${r.method} | ${r.us.toFixed(2)} | ${r.perSecond.toLocaleString('en')} |`);
}
