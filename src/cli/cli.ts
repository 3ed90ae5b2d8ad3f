/**
 * The `dht-node` command line (../shared/CLI.md is the contract). Each command lives in commands/<name>.ts
 * and exports a yargs CommandModule; this file only registers them and maps failures to exit codes.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { CliError, EXIT } from './exit-codes.js';
import { createCommand } from './commands/create.js';
import { lookupCommand } from './commands/lookup.js';
import { runCommand } from './commands/run.js';
import { bootstrapCommand } from './commands/bootstrap.js';
import { seedCommand } from './commands/seed.js';
import { downloadCommand } from './commands/download.js';

// Commands: one import and one entry each.
const COMMANDS: CommandModule[] = [
  lookupCommand as unknown as CommandModule,
  runCommand as unknown as CommandModule,
  bootstrapCommand as unknown as CommandModule,
  createCommand as unknown as CommandModule,
  seedCommand as unknown as CommandModule,
  downloadCommand as unknown as CommandModule];

/** Runs the CLI with `argv` (without node and script); resolves when the command's handler settles. */
export async function main(argv: string[]): Promise<void> {
  let cli: Argv = yargs(argv)
    .scriptName('dht-node')
    .usage('$0 <command> [options]\n\nA BitTorrent node that needs no tracker (Mainline DHT, BEP 5).')
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      if (err !== undefined && err !== null) throw err;
      throw new CliError('usage', msg ?? 'bad usage', EXIT.usage);
    });
  for (const command of COMMANDS) cli = cli.command(command);
  await cli.parseAsync();
}
