#!/usr/bin/env node
/**
 * DHT load benchmark: how many queries per second our node (`dht-node run --ip-rate-limit 0`) and
 * webtorrent's bittorrent-dht answer with under 1% loss, side by side, for ping, find_node and get_peers
 * (docs/benchmarks.md, "DHT").
 *
 *   npm run build && node test/bench/dht-bench.mjs [--population 120] [--step-seconds 3]
 *       [--types ping,find_node,get_peers] [--only ours|bittorrent-dht]
 *
 * Setup, all on loopback: a population of bittorrent-dht nodes in one process (127.0.80.0/24), then the
 * two targets, each bootstrapped from it so both have a filled routing table: bittorrent-dht on
 * 127.0.81.1 and ours on 127.0.82.1. The load generator (dht-load.mjs) runs in this process on
 * 127.0.70.1 and measures one target at a time. Prints a markdown table on stdout, progress on stderr.
 * Every wait is bounded; every child is stopped at the end.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { findMaxRate, openSockets } from './dht-load.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const BT_DRIVER = `${ROOT}test/interop/bt_dht_node.mjs`;
const POPULATION_BASE = '127.0.80.1';
const BT_TARGET = '127.0.81.1';
const OURS_TARGET = '127.0.82.1';
const GENERATOR_BIND = '127.0.70.1';
/** Bound on any child's startup or bootstrap. */
const START_TIMEOUT_MS = 60_000;
/** Time the population gets to fill its tables before the targets join. */
const POPULATION_SETTLE_MS = 5_000;
/** Routing-table size a target must reach before it is measured (a table this size answers find_node with 8 nodes). */
const MIN_TABLE = 16;

function parseArgs(argv) {
  const out = { population: 120, stepSeconds: 3, types: ['ping', 'find_node', 'get_peers'], only: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--population') out.population = Number(value);
    else if (flag === '--step-seconds') out.stepSeconds = Number(value);
    else if (flag === '--types') out.types = value.split(',');
    else if (flag === '--only') out.only = value;
    else throw new Error(`unknown flag ${flag}`);
  }
  if (!(out.population >= 10 && out.population <= 250)) throw new Error('--population must be 10..250');
  return out;
}

/** A child printing JSON lines, with a bounded wait for an event. */
function startChild(name, command, args) {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const events = [];
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.stdin.on('error', () => {});
  let exited = false;
  child.on('exit', () => {
    exited = true;
    for (const w of waiters) w();
  });
  return {
    name,
    events,
    send: (line) => child.stdin.write(`${line}\n`),
    async waitFor(pred, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = events.find(pred);
        if (e) return e;
        if (exited) throw new Error(`${name} exited before ${what}\n${stderr}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${name}: no ${what} within ${timeoutMs} ms\n${stderr}`);
        await new Promise((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.add(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    async stop() {
      if (exited) return;
      child.stdin.end();
      child.kill('SIGTERM');
      for (let i = 0; i < 30 && !exited; i++) await sleep(100);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

async function btTableSize(proc) {
  const before = proc.events.length;
  proc.send('nodes');
  const e = await proc.waitFor((ev) => ev.event === 'nodes' && proc.events.indexOf(ev) >= before, 5_000, 'nodes reply');
  return e.count;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const wantBt = args.only !== 'ours';
  const wantOurs = args.only !== 'bittorrent-dht';
  if (wantOurs && !existsSync(CLI)) throw new Error(`${CLI} missing: run npm run build first`);
  const children = [];
  // Our node's state goes to a throwaway folder, never the user's real $XDG_STATE_HOME.
  const stateDir = mkdtempSync(join(tmpdir(), 'dht-bench-state-'));
  const log = (s) => process.stderr.write(`${s}\n`);
  try {
    log(`population: ${args.population} bittorrent-dht nodes on ${POPULATION_BASE}+`);
    const pop = startChild('population', process.execPath, [BT_DRIVER, '--bind', POPULATION_BASE, '--count', String(args.population)]);
    children.push(pop);
    const popReady = await pop.waitFor((e) => e.event === 'ready', START_TIMEOUT_MS, 'population ready');
    const seeds = popReady.nodes.slice(0, 4).map((n) => `${n.host}:${n.port}`);
    await sleep(POPULATION_SETTLE_MS);

    const targets = [];
    if (wantBt) {
      const bt = startChild('bittorrent-dht target', process.execPath, [BT_DRIVER, '--bind', BT_TARGET, ...seeds.flatMap((s) => ['--bootstrap', s])]);
      children.push(bt);
      const ready = await bt.waitFor((e) => e.event === 'ready', START_TIMEOUT_MS, 'ready');
      targets.push({ impl: 'bittorrent-dht', host: BT_TARGET, port: ready.dhtPort, table: () => btTableSize(bt) });
    }
    if (wantOurs) {
      const ours = startChild('our run', process.execPath, [
        CLI, 'run', '--bind', OURS_TARGET, '--dht-port', '0', '--allow-local', '--ip-rate-limit', '0', '--json',
        '--stats-interval', '1', '--state-dir', stateDir, ...seeds.flatMap((s) => ['--bootstrap', s]),
      ]);
      children.push(ours);
      const ready = await ours.waitFor((e) => e.event === 'ready', START_TIMEOUT_MS, 'ready');
      const boot = await ours.waitFor((e) => e.event === 'bootstrapped', START_TIMEOUT_MS, 'bootstrapped');
      // The routing table keeps growing after the bootstrap lookup; the latest stats event says how far.
      const latestNodes = () => ours.events.filter((e) => e.event === 'stats').at(-1)?.nodes ?? boot.nodes;
      targets.push({ impl: 'ours', host: OURS_TARGET, port: ready.dhtPort, table: async () => latestNodes() });
    }
    // Let bittorrent-dht's bootstrap traversal finish too, then check both tables are filled.
    const tableDeadline = Date.now() + START_TIMEOUT_MS;
    for (const t of targets) {
      for (;;) {
        t.tableSize = await t.table();
        if (t.tableSize >= MIN_TABLE || Date.now() > tableDeadline) break;
        await sleep(1_000);
      }
      log(`${t.impl} on ${t.host}:${t.port}: ${t.tableSize} nodes in its routing table`);
    }

    const socks = await openSockets(GENERATOR_BIND);
    const results = {};
    for (const type of args.types) {
      for (const t of targets) {
        log(`measuring ${t.impl} ${type}`);
        const r = await findMaxRate({
          socks,
          host: t.host,
          port: t.port,
          type,
          stepMs: args.stepSeconds * 1000,
          log: (s) => log(`  ${s.rate}/s: sent ${s.sent}, answered ${s.answers + s.errors} (${(s.loss * 100).toFixed(2)}% lost)`),
        });
        results[`${t.impl}:${type}`] = r;
      }
    }
    for (const s of socks) s.close();

    const fmt = (r) => (r?.best ? `${r.best.answeredPerSec}${r.generatorBound ? ' (generator-bound)' : ''}` : 'none passed');
    const lines = [
      `DHT load: highest rate answered with < 1% loss (answers/s), ${args.stepSeconds} s steps`,
      `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; routing tables: ` +
        targets.map((t) => `${t.impl} ${t.tableSize} nodes`).join(', '),
      '',
      '| query | bittorrent-dht | ours | ours / bittorrent-dht |',
      '|---|---|---|---|',
    ];
    for (const type of args.types) {
      const bt = results[`bittorrent-dht:${type}`];
      const ours = results[`ours:${type}`];
      const ratio = bt?.best && ours?.best ? (ours.best.answeredPerSec / bt.best.answeredPerSec).toFixed(2) : 'n/a';
      lines.push(`| ${type} | ${wantBt ? fmt(bt) : 'not run'} | ${wantOurs ? fmt(ours) : 'not run'} | ${ratio} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`dht-bench: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
