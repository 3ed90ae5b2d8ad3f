#!/usr/bin/env node
/**
 * DHT lookups at scale (issue 2; docs/benchmarks.md, "DHT lookups at scale"): get_peers lookups in a
 * loopback network of N nodes, our node against webtorrent's bittorrent-dht in the same run, before and
 * right after killing 25% of the nodes. Per lookup: queries sent (get_peers datagrams for the hash from
 * the looking-up node's socket, retries included), time to the first announced peer, time to completion,
 * and whether an announced peer was found.
 *
 *   npm run build && node test/bench/dht-lookups.mjs [--nodes 1000,2000] [--lookups 50] [--parallel 4]
 *       [--hashes 5] [--settle-seconds 5] [--seed 1] [--only ours|bittorrent-dht] [--json FILE]
 *       [--what-if-slow-ms MS]   (ours: drive the lookup core with another slow-query threshold than
 *                                 LOOKUP_SLOW_MS, to see what that constant costs; a what-if, not the product)
 *
 * Each (implementation, N) phase runs in its own child process (dht-lookups-worker.mjs), one after the
 * other, so one network never slows the other. Ours binds 127.1.x.y, bittorrent-dht 127.2.x.y: loopback
 * only. Every phase is bounded (PHASE_TIMEOUT_MS); a phase over it is killed and reported as missing.
 * Prints markdown tables on stdout, progress on stderr.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./dht-lookups-worker.mjs', import.meta.url));
/** Bound on one phase (join, settle, announces, both lookup rounds). */
const PHASE_TIMEOUT_MS = 10 * 60_000;
/** Heap for a phase: 2,000 nodes in one process need more than the default on small machines. */
const WORKER_HEAP_MB = 4096;
/** The targets for our node. */
const TARGET = { medianQueries: 30, success: 0.99, medianMsAfterChurn: 1000 };

function parseArgs(argv) {
  const out = { nodes: [1000, 2000], lookups: '50', parallel: '4', hashes: '5', settleSeconds: '5', seed: '1', only: null, json: null, slowMs: '0' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--nodes') out.nodes = value.split(',').map(Number);
    else if (flag === '--lookups') out.lookups = value;
    else if (flag === '--parallel') out.parallel = value;
    else if (flag === '--hashes') out.hashes = value;
    else if (flag === '--settle-seconds') out.settleSeconds = value;
    else if (flag === '--seed') out.seed = value;
    else if (flag === '--only') out.only = value;
    else if (flag === '--json') out.json = value;
    else if (flag === '--what-if-slow-ms') out.slowMs = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  if (out.only && out.only !== 'ours' && out.only !== 'bittorrent-dht') throw new Error('--only must be ours or bittorrent-dht');
  return out;
}

/** Runs one phase; resolves with its JSON result, or null if it failed or ran over PHASE_TIMEOUT_MS. */
function runPhase(impl, nodes, args) {
  const argv = [`--max-old-space-size=${WORKER_HEAP_MB}`, WORKER, '--impl', impl, '--nodes', String(nodes), '--lookups', args.lookups, '--parallel', args.parallel, '--hashes', args.hashes, '--settle-seconds', args.settleSeconds, '--seed', args.seed, ...(impl === 'ours' ? ['--what-if-slow-ms', args.slowMs] : [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      process.stderr.write(`${impl}/${nodes}: over ${PHASE_TIMEOUT_MS / 1000} s, stopping it\n`);
      child.kill('SIGKILL');
    }, PHASE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return resolve(null);
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve(null);
      }
    });
  });
}

/** Nearest-rank quantile of the numbers in `values` (null when there are none). */
function quantile(values, q) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
}

/** The figures of one lookup round. */
function summarize({ results: round, loopDelay }) {
  const found = round.filter((r) => r.found);
  return {
    lookups: round.length,
    queriesMedian: quantile(round.map((r) => r.datagrams), 0.5),
    queriesP90: quantile(round.map((r) => r.datagrams), 0.9),
    firstPeerMedian: quantile(found.map((r) => r.firstPeerMs), 0.5),
    doneMedian: quantile(round.map((r) => r.ms), 0.5),
    doneP90: quantile(round.map((r) => r.ms), 0.9),
    success: found.length / round.length,
    ownQueriesMedian: quantile(round.map((r) => r.queries), 0.5),
    unansweredMedian: quantile(round.map((r) => r.unanswered), 0.5),
    timeouts: round.filter((r) => r.outcome === 'timeout').length,
    loopDelay,
    /** Share of lookups that found the peer, per announced hash. */
    successByHash: [...new Set(round.map((r) => r.h))].sort((a, b) => a - b).map((h) => {
      const of = round.filter((r) => r.h === h);
      return of.filter((r) => r.found).length / of.length;
    }),
  };
}

const fmtInt = (x) => (x === null ? 'n/a' : String(Math.round(x)));
const fmtMs = (x) => (x === null ? 'n/a' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
const fmtPct = (x) => (x === null ? 'n/a' : `${(x * 100).toFixed(x === 1 ? 0 : 1)}%`);
const ratio = (a, b) => (a === null || b === null || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);

function table(n, ours, bt) {
  const rows = [
    ['queries per lookup, median', 'queriesMedian', fmtInt],
    ['queries per lookup, p90', 'queriesP90', fmtInt],
    ['time to first peer, median', 'firstPeerMedian', fmtMs],
    ['time to completion, median', 'doneMedian', fmtMs],
    ['time to completion, p90', 'doneP90', fmtMs],
    ['success (found an announced peer)', 'success', fmtPct],
  ];
  const lines = [`**${n} nodes**`, '', '| | ours | bittorrent-dht | ours / bittorrent-dht |', '|---|---:|---:|---:|'];
  for (const phase of ['before', 'after']) {
    const o = ours?.[phase];
    const b = bt?.[phase];
    const label = phase === 'before' ? 'before churn' : 'after killing 25%';
    for (const [name, key, fmt] of rows) {
      const ov = o ? o[key] : null;
      const bv = b ? b[key] : null;
      lines.push(`| ${label}: ${name} | ${fmt(ov)} | ${fmt(bv)} | ${key === 'success' ? '' : ratio(ov, bv)} |`);
    }
  }
  return lines.join('\n');
}

function verdict(n, ours) {
  if (!ours) return `${n} nodes: no result for our node.`;
  const misses = [];
  for (const phase of ['before', 'after']) {
    const s = ours[phase];
    const label = phase === 'before' ? 'before churn' : 'after churn';
    if (s.queriesMedian > TARGET.medianQueries) misses.push(`${label}: median ${s.queriesMedian} queries (target ≤ ${TARGET.medianQueries})`);
    if (s.success < TARGET.success) misses.push(`${label}: success ${fmtPct(s.success)} (target ≥ 99%)`);
  }
  if (ours.after.doneMedian >= TARGET.medianMsAfterChurn) misses.push(`after churn: median ${fmtMs(ours.after.doneMedian)} to completion (target < 1 s)`);
  return misses.length === 0 ? `${n} nodes: all targets met.` : `${n} nodes: missed: ${misses.join('; ')}.`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const impls = args.only ? [args.only] : ['ours', 'bittorrent-dht'];
  const results = {};
  for (const n of args.nodes) {
    for (const impl of impls) {
      process.stderr.write(`== ${impl}, ${n} nodes ==\n`);
      const t0 = Date.now();
      const raw = await runPhase(impl, n, args);
      process.stderr.write(`== ${impl}, ${n} nodes: ${raw ? 'done' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s ==\n`);
      results[`${impl}/${n}`] = raw ? { raw, before: summarize(raw.before), after: summarize(raw.after) } : null;
    }
  }
  if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 1));
  const out = [];
  for (const n of args.nodes) {
    const o = results[`ours/${n}`];
    const b = results[`bittorrent-dht/${n}`];
    out.push(table(n, o, b), '');
    for (const [impl, r] of [['ours', o], ['bittorrent-dht', b]]) {
      if (!r) continue;
      const extra = impl === 'ours' ? `; own query count (retries excluded) median ${r.before.ownQueriesMedian} → ${r.after.ownQueriesMedian}, unanswered per lookup median ${r.before.unansweredMedian} → ${r.after.unansweredMedian}` : '';
      const pct = (xs) => xs.map((x) => `${Math.round(x * 100)}%`).join(' ');
      const loop = (s) => `${s.loopDelay.p50.toFixed(0)}/${s.loopDelay.p99.toFixed(0)} ms`;
      out.push(
        `- ${impl}: joined in ${r.raw.joinSeconds.toFixed(0)} s, median table ${r.raw.tableMedian} nodes, killed ${r.raw.killed}; ` +
          `stored by ${r.raw.replicasBefore.join(' ')} → ${r.raw.replicasAfter.join(' ')} live nodes per hash; ` +
          `success per hash ${pct(r.before.successByHash)} → ${pct(r.after.successByHash)}; ` +
          `event-loop delay p50/p99 ${loop(r.before)} → ${loop(r.after)}; lookups over the 30 s cap: ${r.before.timeouts} → ${r.after.timeouts}${extra}`,
      );
    }
    if (!args.only || args.only === 'ours') out.push(`- ${verdict(n, o)}`);
    out.push('');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
