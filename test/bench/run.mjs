#!/usr/bin/env node
/**
 * `npm run bench`: runs the benchmarks in turn (docs/benchmarks.md). Each benchmark is its own script so
 * it can also be run alone with its own flags; this file only lists them. Arguments are passed to each.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('./', import.meta.url));
// Benchmarks run by `npm run bench`, in order (others add theirs here).
const BENCHES = ['dht-answer-cost.mjs', 'dht-bench.mjs', 'download-throughput.mjs', 'swarm-efficiency.mjs', 'magnet-time.mjs', 'dht-lookups.mjs', 'dht-soak.mjs'];

let failed = 0;
for (const bench of BENCHES) {
  process.stderr.write(`=== ${bench}\n`);
  const r = spawnSync(process.execPath, [HERE + bench, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
