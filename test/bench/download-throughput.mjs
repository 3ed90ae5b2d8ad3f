#!/usr/bin/env node
/**
 * Loopback throughput of one large download, whole leecher process from spawn to every piece verified
 * (docs/benchmarks.md, "Download: loopback throughput"). One file, one .torrent (made by our `create`),
 * two seeders (ours and libtorrent) running for the whole benchmark; each run starts a fresh leecher per
 * pair, one at a time: ours<-ours, lt<-lt, ours<-lt, lt<-ours. Prints a markdown table.
 *
 *   node test/bench/download-throughput.mjs [--mib 256] [--piece 256k] [--runs 3] [--timeout 120]
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MiB, createTorrent, flags, fmt, loadAverage, lt, median, ours, overallBound, randomFile, stopAll, table, tempDir,
} from './bench-procs.mjs';

const opt = flags({ mib: 256, piece: '256k', runs: 3, timeout: 120, pairs: 'ours-ours,lt-lt,lt-ours,ours-lt' });
/** Addresses of this benchmark: a /24 of its own (docs/interop.md lists the others). */
const NET = '127.0.141.';
const GiB = 1024 * MiB;

const procs = [];
overallBound((opt.runs * 4 * opt.timeout + 120) * 1000, procs);
const { dir, cleanup } = await tempDir('bench-download-');
try {
  const seedDir = join(dir, 'seed');
  await mkdir(seedDir);
  const file = join(seedDir, 'big.bin');
  const torrent = join(dir, 'big.torrent');
  const bytes = opt.mib * MiB;
  process.stderr.write(`generating ${opt.mib} MiB in ${dir}\n`);
  await randomFile(file, bytes);
  await createTorrent(file, torrent, opt.piece);

  const seeders = {
    ours: ours('our seeder', ['seed', torrent, '--out', seedDir, '--bind', `${NET}1`, '--port', '0', '--no-dht', '--state-dir', join(dir, 'state-seed')]),
    lt: lt('lt seeder', ['seed', '--bind', `${NET}2`, '--torrent', torrent, '--save-path', seedDir, '--timeout', '100000']),
  };
  procs.push(seeders.ours, seeders.lt);
  const seedAddr = {};
  for (const [k, p] of Object.entries(seeders)) seedAddr[k] = `${NET}${k === 'ours' ? 1 : 2}:${(await p.waitFor('ready', 120_000)).tcpPort}`;
  process.stderr.write(`seeders ready: ${JSON.stringify(seedAddr)}\n`);

  const results = [];
  let n = 10;
  for (let run = 1; run <= opt.runs; run++) {
    for (const pair of opt.pairs.split(',')) {
      const [from, to] = pair.split('-');
      const out = join(dir, `out-${run}-${pair}`);
      await mkdir(out);
      const bind = `${NET}${n++}`;
      let leecher;
      if (to === 'ours') {
        leecher = ours(`our leecher ${run}`, ['download', torrent, '--out', out, '--bind', bind, '--port', '0', '--no-dht',
          '--peer', seedAddr[from], '--state-dir', join(dir, `state-${run}-${pair}`), '--timeout', String(opt.timeout)], join(dir, `time-${run}-${pair}`));
      } else {
        leecher = lt(`lt leecher ${run}`, ['download', '--bind', bind, '--torrent', torrent, '--save-path', out,
          '--peer', seedAddr[from], '--timeout', String(opt.timeout)]);
      }
      procs.push(leecher);
      let row;
      try {
        const done = await leecher.waitFor('complete', opt.timeout * 1000);
        let cpu = done.cpuUser !== undefined ? done.cpuUser + done.cpuSys : undefined;
        if (to === 'ours') cpu = await leecher.cpuSeconds();
        else leecher.stop();
        row = { run, pair, wallMs: done.at, selfMs: done.ms, cpu, ok: done.bytes === bytes };
      } catch (err) {
        row = { run, pair, error: String(err.message).split('\n')[0] };
        leecher.kill();
      }
      await leecher.exited;
      await rm(out, { recursive: true, force: true });
      results.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  }

  const mibps = (r) => (r.wallMs ? bytes / MiB / (r.wallMs / 1000) : undefined);
  const cpuPerGiB = (r) => (r.cpu !== undefined ? r.cpu / (bytes / GiB) : undefined);
  const name = { 'ours-ours': 'ours -> ours', 'lt-lt': 'libtorrent -> libtorrent', 'lt-ours': 'libtorrent -> ours', 'ours-lt': 'ours -> libtorrent' };
  const rows = results.map((r) => {
    const ref = results.find((x) => x.run === r.run && x.pair === 'lt-lt');
    const ratio = ref && mibps(ref) && mibps(r) ? mibps(r) / mibps(ref) : undefined;
    return r.error
      ? [r.run, name[r.pair], 'failed', r.error, '', '', '']
      : [r.run, name[r.pair], fmt(r.wallMs / 1000), fmt(mibps(r), 0), fmt(r.selfMs / 1000), fmt(cpuPerGiB(r)), fmt(ratio)];
  });
  console.log(`\nDownload of ${opt.mib} MiB (${opt.piece} pieces) on loopback, load average ${loadAverage()}\n`);
  console.log(table(['run', 'seeder -> leecher', 'wall s (spawn to verified)', 'MiB/s', 'leecher-reported s', 'leecher CPU-s/GiB', 'MiB/s vs lt->lt'], rows));
  const summary = Object.keys(name).filter((p) => results.some((r) => r.pair === p)).map((p) => {
    const rs = results.filter((r) => r.pair === p && !r.error);
    const ratios = rs.map((r) => { const ref = results.find((x) => x.run === r.run && x.pair === 'lt-lt'); return ref?.wallMs ? mibps(r) / mibps(ref) : undefined; }).filter((x) => x !== undefined);
    return [name[p], `${fmt(median(rs.map(mibps)), 0)} (${fmt(Math.min(...rs.map(mibps)), 0)}–${fmt(Math.max(...rs.map(mibps)), 0)})`,
      `${fmt(median(rs.map(cpuPerGiB)))} (${fmt(Math.min(...rs.map(cpuPerGiB)))}–${fmt(Math.max(...rs.map(cpuPerGiB)))})`,
      ratios.length ? `${fmt(median(ratios))} (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))})` : 'n/a'];
  });
  console.log('\nMedian (min–max) over runs:\n');
  console.log(table(['seeder -> leecher', 'MiB/s', 'leecher CPU-s/GiB', 'ratio vs lt->lt, same run'], summary));
} finally {
  await stopAll(procs);
  await cleanup();
}
