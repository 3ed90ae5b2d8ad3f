#!/usr/bin/env node
/**
 * Magnet time-to-metadata and time-to-complete through a private DHT on loopback (docs/benchmarks.md,
 * "Magnet: time to metadata and to complete"). A network of our nodes (one `bootstrap`, a few `run`), our
 * seeder of a fresh file announced on it; then, one at a time and alternating, a leecher given only the
 * magnet link and the bootstrap node: ours (`dht-node download <magnet>`) and libtorrent
 * (test/bench/lt_bench.py download --magnet). Times count from the leecher's spawn (process start included)
 * to its `metadata` and `complete` events as the harness saw them.
 *
 *   node test/bench/magnet-time.mjs [--mib 16] [--runs 5] [--nodes 4] [--timeout 30] [--impls ours,lt]
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CLI, MiB, Proc, flags, fmt, loadAverage, lt, median, ours, overallBound, randomFile, stopAll, table, tempDir,
} from './bench-procs.mjs';

const opt = flags({ mib: 16, runs: 5, nodes: 4, timeout: 30, impls: 'ours,lt' });
/** Addresses of this benchmark: a /24 of its own. */
const NET = '127.0.144.';

const procs = [];
const impls = opt.impls.split(',');
overallBound((opt.runs * impls.length * (opt.timeout + 5) + 120) * 1000, procs);
const { dir, cleanup } = await tempDir('bench-magnet-');
const results = [];
try {
  const seedDir = join(dir, 'seed');
  await mkdir(seedDir);
  const file = join(seedDir, 'magnet.bin');
  await randomFile(file, opt.mib * MiB);
  const state = (n) => ['--state-dir', join(dir, `state-${n}`)];

  const boot = ours('bootstrap', ['bootstrap', '--bind', `${NET}1`, '--port', '0', '--ping-delay', '1', '--stats-interval', '0.2', ...state('boot')]);
  procs.push(boot);
  const bootstrap = `${NET}1:${(await boot.waitFor('ready')).dhtPort}`;
  // Each node also knows the previous one, so they join at once (as `npm start` does).
  let previous = bootstrap;
  const nodes = [];
  for (let i = 0; i < opt.nodes; i++) {
    const r = ours(`node${i}`, ['run', '--bind', `${NET}${10 + i}`, '--port', '0', '--bootstrap', bootstrap, '--bootstrap', previous, ...state(`node${i}`)]);
    procs.push(r);
    nodes.push(r);
    previous = `${NET}${10 + i}:${(await r.waitFor('ready')).dhtPort}`;
  }
  await Promise.all(nodes.map((r) => r.waitFor('bootstrapped', 30_000)));
  const seeder = ours('seeder', ['seed', file, '--bind', `${NET}50`, '--port', '0', '--bootstrap', bootstrap, '--bootstrap', previous, ...state('seed')]);
  procs.push(seeder);
  const magnet = (await seeder.waitFor('ready', 60_000)).magnet;
  await seeder.waitFor('announced', 30_000);
  // A leecher starts from the bootstrap node alone, as a new user does: wait until its pool has verified
  // the network's nodes (a young bootstrap node hands out none before), as a long-running one would have.
  await boot.waitUntil('stats', (s) => s.pool >= opt.nodes + 1, 30_000);
  process.stderr.write(`network up, seeder announced: ${magnet}\n`);

  let host = 100;
  for (let run = 1; run <= opt.runs; run++) {
    for (const impl of impls) {
      const out = join(dir, `out-${run}-${impl}`);
      await mkdir(out);
      const bind = `${NET}${host++}`;
      const p = impl === 'ours'
        ? ours(`our leecher ${run}`, ['download', magnet, '--out', out, '--bind', bind, '--port', '0', '--bootstrap', bootstrap, '--timeout', String(opt.timeout), ...state(`leech-${run}`)])
        : lt(`lt leecher ${run}`, ['download', '--bind', bind, '--magnet', magnet, '--save-path', out, '--bootstrap', bootstrap, '--timeout', String(opt.timeout)]);
      procs.push(p);
      let row;
      try {
        const meta = await p.waitFor('metadata', opt.timeout * 1000);
        const done = await p.waitFor('complete', opt.timeout * 1000);
        const ready = p.events.find((e) => e.event === 'ready');
        row = { run, impl, ready: ready?.at, meta: meta.at, done: done.at, selfMeta: meta.ms, selfDone: done.ms };
      } catch (err) {
        row = { run, impl, error: String(err.message).split('\n')[0] };
      }
      p.stop();
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))]);
      p.kill();
      await rm(out, { recursive: true, force: true });
      results.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  }
} finally {
  await stopAll(procs);
  await cleanup();
}

// Start-up baselines, measured after the network is gone: a bare `node -e 0`, and our CLI printing its
// version (which loads main.js, yargs and every command module), spawn to exit.
const baseline = {};
for (const [k, argv] of Object.entries({ node: ['-e', '0'], cli: [CLI, '--version'] })) {
  const xs = [];
  for (let i = 0; i < opt.runs; i++) {
    const p = new Proc(k, process.execPath, argv);
    await p.exited;
    xs.push(p.tExit - p.t0);
  }
  baseline[k] = xs;
}

const s = (ms) => fmt(ms / 1000);
console.log(`\nMagnet download of ${opt.mib} MiB through a private DHT of ${opt.nodes + 1} of our nodes, our seeder; times from leecher spawn; load average ${loadAverage()}\n`);
console.log(table(['run', 'leecher', 'ready s', 'metadata s', 'complete s', 'self-reported metadata / complete s'],
  results.map((r) => (r.error ? [r.run, r.impl, 'failed', r.error, '', '']
    : [r.run, r.impl === 'lt' ? 'libtorrent' : 'ours', s(r.ready), s(r.meta), s(r.done), `${s(r.selfMeta)} / ${s(r.selfDone)}`]))));
const ok = (impl) => results.filter((r) => r.impl === impl && !r.error);
const spread = (xs) => `${s(median(xs))} (${s(Math.min(...xs))}–${s(Math.max(...xs))})`;
console.log('\nMedian (min–max), seconds from spawn:\n');
console.log(table(['leecher', 'runs ok', 'metadata', 'complete'], impls.map((impl) => [impl === 'lt' ? 'libtorrent' : 'ours', `${ok(impl).length}/${opt.runs}`,
  ok(impl).length ? spread(ok(impl).map((r) => r.meta)) : 'n/a', ok(impl).length ? spread(ok(impl).map((r) => r.done)) : 'n/a'])));
console.log(`\nStart-up baselines, spawn to exit, median (min–max): node -e 0: ${spread(baseline.node)} s; dht-node --version: ${spread(baseline.cli)} s`);
