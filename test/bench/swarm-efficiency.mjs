#!/usr/bin/env node
/**
 * Swarm efficiency (docs/benchmarks.md, "Swarm: time against the theoretical minimum"): one seeder with an
 * upload limit and N leechers with upload limits, all on loopback, no DHT. Leechers learn each other from
 * --peer lists. The clock starts when the seeder is ready (its data verified); the leechers are already
 * up and connected to each other, and the seeder connects to all of them. Reported: time until the last
 * leecher has verified every piece, divided by
 *   T_min = max(F/u_s, F/d_min, N*F/(u_s + sum u_i))    (no download limit here, so d_min is infinite).
 *
 *   node test/bench/swarm-efficiency.mjs [--mib 16] [--piece 64k] [--leechers 8] [--seed-up 2M]
 *       [--leech-up 1M | --mixed 2M,0.5M] [--impls ours,lt] [--runs 2] [--timeout 120]
 *
 * `--mixed A,B` gives the first half of the leechers upload limit A and the second half B.
 * `--reverse-seed-peers` hands the seeder its --peer list last-started leecher first (a diagnostic: does
 * the order the seeder dials in decide who uploads most?).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MiB, createTorrent, flags, fmt, loadAverage, lt, ours, overallBound, randomFile, stopAll, table, tempDir,
} from './bench-procs.mjs';

const opt = flags({ mib: 16, piece: '64k', leechers: 8, 'seed-up': '2M', 'leech-up': '1M', mixed: '', impls: 'ours,lt', runs: 2, timeout: 120, 'reverse-seed-peers': false });
/** Addresses of this benchmark: a /24 of its own. */
const NET = '127.0.142.';
const rate = (t) => { const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(t); return Number(m[1]) * ({ '': 1, k: 1024, m: MiB }[m[2].toLowerCase()]); };

const N = opt.leechers;
const ups = opt.mixed
  ? Array.from({ length: N }, (_, i) => opt.mixed.split(',')[i < N / 2 ? 0 : 1])
  : Array.from({ length: N }, () => opt['leech-up']);
const F = opt.mib * MiB;
const us = rate(opt['seed-up']);
const sumUi = ups.reduce((s, u) => s + rate(u), 0);
const tMin = Math.max(F / us, (N * F) / (us + sumUi));

const procs = [];
overallBound((opt.runs * opt.impls.split(',').length * (opt.timeout + 30) + 60) * 1000, procs);
const { dir, cleanup } = await tempDir('bench-swarm-');
const results = [];
try {
  const seedDir = join(dir, 'seed');
  await mkdir(seedDir);
  const file = join(seedDir, 'swarm.bin');
  const torrent = join(dir, 'swarm.torrent');
  await randomFile(file, F);
  await createTorrent(file, torrent, opt.piece);

  let host = 10;
  for (let run = 1; run <= opt.runs; run++) {
    for (const impl of opt.impls.split(',')) {
      const mine = [];
      const addrs = [];
      try {
        for (let i = 0; i < N; i++) {
          const bind = `${NET}${host++}`;
          const out = join(dir, `out-${run}-${impl}-${i}`);
          await mkdir(out);
          const p = impl === 'ours'
            ? ours(`our leecher ${i}`, ['download', torrent, '--out', out, '--bind', bind, '--port', '0', '--no-dht', '--seed-after',
              '--upload-limit', ups[i], '--state-dir', join(dir, `state-${run}-${impl}-${i}`), ...addrs.flatMap((a) => ['--peer', a])])
            : lt(`lt leecher ${i}`, ['download', '--bind', bind, '--torrent', torrent, '--save-path', out, '--seed-after',
              '--upload-limit', ups[i], '--timeout', String(opt.timeout + 30), ...addrs.flatMap((a) => ['--peer', a])]);
          mine.push(p);
          procs.push(p);
          addrs.push(`${bind}:${(await p.waitFor('ready', 30_000)).tcpPort}`);
        }
        const seedBind = `${NET}${host++}`;
        const seedPeers = opt['reverse-seed-peers'] ? [...addrs].reverse() : addrs;
        const seeder = impl === 'ours'
          ? ours('our seeder', ['seed', torrent, '--out', seedDir, '--bind', seedBind, '--port', '0', '--no-dht', '--upload-limit', opt['seed-up'],
            '--state-dir', join(dir, `state-${run}-${impl}-seed`), ...seedPeers.flatMap((a) => ['--peer', a])])
          : lt('lt seeder', ['seed', '--bind', seedBind, '--torrent', torrent, '--save-path', seedDir, '--upload-limit', opt['seed-up'],
            '--timeout', String(opt.timeout + 30), ...seedPeers.flatMap((a) => ['--peer', a])]);
        procs.push(seeder);
        mine.push(seeder);
        const ready = await seeder.waitFor('ready', 60_000);
        const t0 = seeder.t0 + ready.at;
        const times = [];
        for (let i = 0; i < N; i++) {
          const c = await mine[i].waitFor('complete', Math.max(1000, t0 + opt.timeout * 1000 - performance.now()));
          times.push((mine[i].t0 + c.at - t0) / 1000);
        }
        const lastStats = (p) => [...p.events].reverse().find((e) => e.event === 'stats');
        const last = Math.max(...times);
        // Our leechers print payload totals about once a second: how much of their upload capacity was used.
        const leechUp = impl === 'ours' ? mine.slice(0, N).reduce((s, p) => s + (lastStats(p)?.uploaded ?? 0), 0) : undefined;
        const row = { run, impl, last, first: Math.min(...times), seederUploaded: lastStats(seeder)?.uploaded, seederStartup: ready.at / 1000,
          leechUse: leechUp !== undefined ? leechUp / (sumUi * last) : undefined,
          // Each of our leechers' mean upload rate over the run in MiB/s, against its limit (stderr only).
          perLeecherUp: impl === 'ours' ? mine.slice(0, N).map((p, i) => `${fmt((lastStats(p)?.uploaded ?? 0) / MiB / last)}/${ups[i]}`) : undefined };
        results.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      } catch (err) {
        const row = { run, impl, error: String(err.message).split('\n')[0] };
        results.push(row);
        process.stderr.write(`${JSON.stringify(row)}\n`);
      } finally {
        await stopAll(mine);
      }
    }
  }
} finally {
  await stopAll(procs);
  await cleanup();
}

const label = opt.mixed ? `mixed leecher uploads ${opt.mixed} (half each)` : `equal leecher uploads ${opt['leech-up']}`;
console.log(`\nSwarm: ${opt.mib} MiB (${opt.piece} pieces), seeder upload ${opt['seed-up']}, ${N} leechers, ${label}; T_min = ${fmt(tMin)} s; load average ${loadAverage()}\n`);
console.log(table(['run', 'implementation', 'first leecher s', 'last leecher s', 'last / T_min', 'seeder uploaded (copies of F)', 'leechers\' upload used', 'seeder start-up s (not counted)'],
  results.map((r) => (r.error ? [r.run, r.impl, 'failed', r.error, '', '', '', '']
    : [r.run, r.impl === 'lt' ? 'libtorrent' : 'ours', fmt(r.first), fmt(r.last), fmt(r.last / tMin), r.seederUploaded !== undefined ? fmt(r.seederUploaded / F) : 'n/a',
      r.leechUse !== undefined ? `${fmt(100 * r.leechUse, 0)}%` : 'n/a', fmt(r.seederStartup)]))));
