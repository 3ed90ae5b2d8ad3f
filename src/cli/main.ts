#!/usr/bin/env node
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
