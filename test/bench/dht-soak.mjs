#!/usr/bin/env node
/**
 * Memory under sustained load (issue 3: "memory must stay flat over a long run under load"). A `run` node
 * (127.0.90.1, --ip-rate-limit 0) gets get_peers and announce_peer (with the tokens it hands out) for
 * infohashes drawn from a pool larger than its caps, plus find_node, from 16 sockets, for a bounded time.
 * The node's RSS (from /proc) and its stored infohashes and peers are sampled every few seconds; once the
 * peer store is full, RSS should stop growing.
 *   npm run build && node test/bench/dht-soak.mjs [--seconds 180] [--rate 3000]
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import bencode from 'bencode';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '180' }, rate: { type: 'string', default: '3000' } } });
const SECONDS = Math.min(1800, Number(values.seconds));
const RATE = Math.min(20000, Number(values.rate));
const SAMPLE_MS = 5000;
const INFOHASHES = Array.from({ length: 40000 }, () => randomBytes(20));

const state = mkdtempSync(join(tmpdir(), 'dht-soak-'));
const child = spawn(process.execPath, ['dist/cli/main.js', 'run', '--bind', '127.0.90.1', '--dht-port', '0', '--allow-local', '--ip-rate-limit', '0',
  '--bootstrap', '127.0.90.2:9', '--state-dir', state, '--stats-interval', '5', '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: process.env.SOAK_NODE_OPTIONS ?? '' } });
let port = 0;
let last = { infohashes: 0, peers: 0 };
const ready = new Promise((resolve) => {
  createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line);
    if (e.event === 'ready') { port = e.dhtPort; resolve(); }
    if (e.event === 'stats') last = { infohashes: e.infohashes, peers: e.peers };
  });
});
await ready;

const rssMiB = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

const sockets = [];
/** Transaction id (2 bytes, as clients use; we refuse ids over 16 bytes) -> the infohash it asked about. */
const asked = new Array(65536);
let sent = 0;
let answers = 0;
let announces = 0;
for (let i = 0; i < 16; i++) {
  const s = createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.90.3', r));
  s.on('message', (msg) => {
    let m;
    try { m = bencode.decode(msg); } catch { return; }
    if (!m || !m.y || m.y[0] !== 0x72) return; // responses only
    answers++;
    const t = m.t;
    if (t && t.length === 2 && m.r && m.r.token) {
      // t indexes the infohash we asked about: announce a random port for it with the token we were given
      const ih = asked[(t[0] << 8) | t[1]];
      s.send(bencode.encode({ t: 'a', y: 'q', q: 'announce_peer', a: { id: randomBytes(20), info_hash: ih, port: 1 + Math.floor(Math.random() * 65000), token: m.r.token } }), port, '127.0.90.1');
      sent++;
      announces++;
    }
  });
  sockets.push(s);
}

const samples = [];
const start = Date.now();
let nextSample = start;
let queued = 0;
while (Date.now() - start < SECONDS * 1000) {
  const due = Math.floor(((Date.now() - start) / 1000) * RATE);
  for (; queued < due; queued++) {
    const s = sockets[sent % sockets.length];
    const ih = INFOHASHES[Math.floor(Math.random() * INFOHASHES.length)];
    const msg = sent % 4 === 3
      ? { t: 'f', y: 'q', q: 'find_node', a: { id: randomBytes(20), target: randomBytes(20) } }
      : { t: Buffer.from([(sent >> 8) & 255, sent & 255]), y: 'q', q: 'get_peers', a: { id: randomBytes(20), info_hash: ih } };
    if (sent % 4 !== 3) asked[sent & 0xffff] = ih;
    s.send(bencode.encode(msg), port, '127.0.90.1');
    sent++;
  }
  if (Date.now() >= nextSample) {
    samples.push({ t: Math.round((Date.now() - start) / 1000), rss: rssMiB(), ...last, answers });
    nextSample += SAMPLE_MS;
  }
  await new Promise((r) => setTimeout(r, 2));
}
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
for (const s of sockets) s.close();
rmSync(state, { recursive: true, force: true });

console.log(`DHT soak: ${SECONDS} s at ~${RATE} queries/s (get_peers + announce_peer with tokens, find_node), ${announces} announces`);
console.log('| t (s) | RSS (MiB) | infohashes | peers stored | answers so far |');
console.log('|---|---|---|---|---|');
for (const x of samples) console.log(`| ${x.t} | ${x.rss.toFixed(0)} | ${x.infohashes} | ${x.peers} | ${x.answers} |`);
const full = samples.filter((x) => x.peers >= 0.95 * Math.max(...samples.map((y) => y.peers)));
if (full.length >= 2) {
  const grow = full[full.length - 1].rss - full[0].rss;
  console.log(`\nonce the store was full (t=${full[0].t}..${full[full.length - 1].t} s): RSS ${full[0].rss.toFixed(0)} -> ${full[full.length - 1].rss.toFixed(0)} MiB (${grow >= 0 ? '+' : ''}${grow.toFixed(0)} MiB)`);
}
