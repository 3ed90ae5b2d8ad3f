#!/usr/bin/env -S node --initial-old-space-size=64
// Why the V8 flag: V8 starts with a small old-generation limit, and a fast download allocates quickly enough
// that the young generation grows until the slack below that limit is smaller than it, at which point V8
// marks the old generation almost continuously (a mark-compact every ~80 ms in a seeder serving 100+ MiB/s).
// A 64 MiB starting limit (a limit, not a reservation) removes that: the seeder's CPU per 256 MiB served
// fell from ~1.5 s to ~0.8 s (docs/benchmarks.md). `env -S` passes the flag through the shebang on Linux
// and macOS; `node dist/cli/main.js` without it runs the same, only with more GC work.
/** The `dht-node` executable: runs the CLI and turns a failure into one clear line and an exit code. */
import { hideBin } from 'yargs/helpers';
import { main } from './cli.js';
import { CliError, EXIT } from './exit-codes.js';
import { errorCode, errorMessage } from '../util/errors.js';

const argv = hideBin(process.argv);
main(argv).catch((err: unknown) => {
  const exitCode = err instanceof CliError ? err.exitCode : EXIT.failure;
  const code = errorCode(err) ?? 'internal';
  const message = errorMessage(err);
  if (argv.includes('--json')) process.stdout.write(JSON.stringify({ event: 'error', code, message }) + '\n');
  else process.stderr.write(`dht-node: ${message}\n`);
  if (process.env.DHT_NODE_DEBUG) console.error(err);
  process.exitCode = exitCode;
});
