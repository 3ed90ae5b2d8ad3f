#!/usr/bin/env node
/**
 * One phase of dht-lookups.mjs, in its own process so one implementation's network does not slow the
 * other's: start `--nodes` nodes of `--impl` on loopback, let them settle, announce `--hashes` infohashes
 * from random nodes, run `--lookups` get_peers lookups from random other nodes (`--parallel` at a time),
 * kill 25% of the nodes (never an announcer), and run the lookups again at once.
 *
 *   node test/bench/dht-lookups-worker.mjs --impl ours|bittorrent-dht --nodes 1000 [--lookups 50]
 *       [--parallel 4] [--hashes 5] [--settle-seconds 5] [--seed 1] [--kill-share 0.25]
 *       [--what-if-slow-ms MS]   (ours only: lookups through the lookup core with another slow-query threshold)
 *
 * stdout: one JSON line with the raw results of every lookup; progress goes to stderr.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startNetwork } from './dht-lookups-nets.mjs';

/** Ours on 127.1.0.0/16, bittorrent-dht on 127.2.0.0/16: never outside 127.0.0.0/8. */
const SECOND_OCTET = { ours: 1, 'bittorrent-dht': 2 };
/** Addresses used per /24 (.1 to .250). */
const PER_SUBNET = 250;
/** Nodes joining at once; each wave waits for the previous one, as a network grows. */
const WAVE_SIZE = 25;
/** Bound on one lookup; a lookup still running then counts as failed, with this as its time. */
const LOOKUP_CAP_MS = 30_000;
/** Port of the first announcing peer; announcer a announces port PEER_PORT_BASE + a. */
const PEER_PORT_BASE = 20_000;
/** Quiet time after the announces, so the stores have answered before the lookups. */
const AFTER_ANNOUNCE_MS = 1_000;
/** Sampling interval of the event-loop delay histogram. */
const LOOP_RESOLUTION_MS = 2;

function parseArgs(argv) {
  const out = { impl: '', nodes: 0, lookups: 50, parallel: 4, hashes: 5, settleSeconds: 5, seed: 1, killShare: 0.25, slowMs: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--impl') out.impl = value;
    else if (flag === '--nodes') out.nodes = Number(value);
    else if (flag === '--lookups') out.lookups = Number(value);
    else if (flag === '--parallel') out.parallel = Number(value);
    else if (flag === '--hashes') out.hashes = Number(value);
    else if (flag === '--settle-seconds') out.settleSeconds = Number(value);
    else if (flag === '--seed') out.seed = Number(value);
    else if (flag === '--kill-share') out.killShare = Number(value);
    else if (flag === '--what-if-slow-ms') out.slowMs = Number(value);
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!(out.impl in SECOND_OCTET)) throw new Error('--impl must be ours or bittorrent-dht');
  if (!(Number.isInteger(out.nodes) && out.nodes >= 20 && out.nodes <= 4000)) throw new Error('--nodes must be 20..4000');
  if (!(out.lookups >= 1 && out.lookups <= 500)) throw new Error('--lookups must be 1..500');
  if (!(out.parallel >= 1 && out.parallel <= 16)) throw new Error('--parallel must be 1..16');
  if (!(out.hashes >= 1 && out.hashes <= 20)) throw new Error('--hashes must be 1..20');
  if (!(out.settleSeconds >= 0 && out.settleSeconds <= 120)) throw new Error('--settle-seconds must be 0..120');
  if (!(out.killShare >= 0 && out.killShare < 0.9)) throw new Error('--kill-share must be 0..0.9');
  if (!(out.slowMs >= 0 && out.slowMs <= 10_000)) throw new Error('--what-if-slow-ms must be 0..10000');
  return out;
}

/** mulberry32: a small seeded generator, so the choice of announcers, origins and victims repeats. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates. */
function shuffle(items, rand) {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const log = (msg) => process.stderr.write(`${msg}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` lookups, `parallel` at a time, each from a distinct live node that does not itself store the hash. */
async function lookupRound(net, name, { count, parallel, hashes, wanted, excluded, rand }) {
  const origins = shuffle(
    Array.from({ length: net.size }, (_, i) => i).filter((i) => net.alive(i) && !excluded.has(i)),
    rand,
  );
  const jobs = [];
  for (let j = 0; j < count; j++) {
    const h = j % hashes.length;
    const at = origins.findIndex((i) => i >= 0 && !net.stores(i, hashes[h]));
    if (at < 0) throw new Error('not enough origin nodes');
    jobs.push({ origin: origins[at], h });
    origins[at] = -1;
  }
  const results = [];
  let next = 0;
  const t0 = Date.now();
  // Event-loop delay during the round: with a whole network in one process, a busy loop delays answers
  // as a slow network would, so it is reported beside the times.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const worker = async () => {
    for (let job = jobs[next++]; job; job = jobs[next++]) {
      const r = await net.lookup(job.origin, hashes[job.h], wanted[job.h], LOOKUP_CAP_MS);
      results.push({ ...r, origin: job.origin, h: job.h, table: net.tableSize(job.origin) });
      if (results.length % 10 === 0) log(`${name}: ${results.length}/${count} lookups`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  loop.disable();
  // The histogram holds each sampling interval as measured; the delay is what exceeds the resolution.
  const excess = (ns) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  const loopDelay = { p50: excess(loop.percentile(50)), p99: excess(loop.percentile(99)), max: excess(loop.max) };
  log(`${name}: event-loop delay p50 ${loopDelay.p50.toFixed(1)} ms, p99 ${loopDelay.p99.toFixed(1)} ms`);
  log(`${name}: ${count} lookups in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${results.filter((r) => r.found).length} found a peer`);
  return { results, loopDelay, seconds: (Date.now() - t0) / 1000 };
}

/** How many live nodes store each hash (the announce's replicas). */
function replicas(net, hashes) {
  return hashes.map((hash) => Array.from({ length: net.size }, (_, i) => i).filter((i) => net.alive(i) && net.stores(i, hash)).length);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const rand = seeded(args.seed);
  const octet = SECOND_OCTET[args.impl];
  const hostOf = (i) => `127.${octet}.${1 + Math.floor(i / PER_SUBNET)}.${1 + (i % PER_SUBNET)}`;
  const started = Date.now();
  const net = await startNetwork(args.impl, { n: args.nodes, hostOf, waveSize: WAVE_SIZE, slowMs: args.slowMs, log: (m) => log(`${args.impl}/${args.nodes}: ${m}`) });
  const joinSeconds = (Date.now() - started) / 1000;
  const name = `${args.impl}/${args.nodes}`;
  log(`${name}: joined in ${joinSeconds.toFixed(1)} s; settling ${args.settleSeconds} s`);
  await sleep(args.settleSeconds * 1000);
  const tables = Array.from({ length: net.size }, (_, i) => net.tableSize(i)).sort((a, b) => a - b);

  const hashes = [];
  const wanted = [];
  const announcers = shuffle(Array.from({ length: net.size }, (_, i) => i), rand).slice(0, args.hashes);
  for (let h = 0; h < args.hashes; h++) {
    const hash = new Uint8Array(20);
    for (let b = 0; b < 20; b++) hash[b] = Math.floor(rand() * 256);
    const port = PEER_PORT_BASE + h;
    const res = await net.announce(announcers[h], hash, port);
    hashes.push(hash);
    wanted.push(new Set([`${hostOf(announcers[h])}:${port}`]));
    log(`${name}: announced hash ${h} from node ${announcers[h]} (${res.ok} ok)`);
  }
  await sleep(AFTER_ANNOUNCE_MS);
  const excluded = new Set(announcers);
  const opts = { count: args.lookups, parallel: args.parallel, hashes, wanted, excluded, rand };
  const replicasBefore = replicas(net, hashes);
  log(`${name}: replicas per hash ${replicasBefore.join(' ')}`);
  const before = await lookupRound(net, `${name} before churn`, opts);

  const victims = shuffle(Array.from({ length: net.size }, (_, i) => i).filter((i) => !excluded.has(i)), rand).slice(0, Math.round(net.size * args.killShare));
  await Promise.all(victims.map((i) => net.kill(i)));
  log(`${name}: killed ${victims.length} nodes`);
  const replicasAfter = replicas(net, hashes);
  const after = await lookupRound(net, `${name} after churn`, opts);

  await net.closeAll();
  process.stdout.write(`${JSON.stringify({ impl: args.impl, nodes: args.nodes, joinSeconds, tableMedian: tables[tables.length >> 1], killed: victims.length, replicasBefore, replicasAfter, before, after })}\n`);
  process.exit(0);
}

main().catch((err) => {
  log(`worker failed: ${err?.stack ?? err}`);
  process.exit(1);
});
