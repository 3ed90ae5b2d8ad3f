/**
 * The `dht-node` command line (../shared/CLI.md is the contract). Each command's flags are data in
 * commands/<name>.ts and its implementation in commands/<name>-handler.ts, imported only when that command
 * runs; this file registers them with yargs and maps failures to exit codes.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { CliError, EXIT } from './exit-codes.js';
import type { CommandDefinition } from './commands/definition.js';
import { createCommand } from './commands/create.js';
import { lookupCommand } from './commands/lookup.js';
import { runCommand } from './commands/run.js';
import { bootstrapCommand } from './commands/bootstrap.js';
import { seedCommand } from './commands/seed.js';
import { downloadCommand } from './commands/download.js';

// Commands: one import and one entry each.
const COMMANDS: readonly CommandDefinition[] = [lookupCommand, runCommand, bootstrapCommand, createCommand, seedCommand, downloadCommand];

/** Options yargs adds to every command; hidden with the command's own (see toYargs). */
const GLOBAL_KEYS = ['help', 'version'];

/** Registers a definition: its flags as given, its implementation imported when its handler runs. */
export function toYargs(def: CommandDefinition): CommandModule {
  let inner: Argv | undefined;
  return {
    command: def.command,
    describe: def.describe,
    builder: (y: Argv) => {
      let b = y;
      for (const [name, o] of Object.entries(def.positionals)) b = b.positional(name, o);
      b = b.options(def.options);
      for (const [example, meaning] of def.examples ?? []) b = b.example(example, meaning);
      inner = b;
      return b;
    },
    handler: async (args) => {
      // Right after calling a command's handler, yargs renders that command's whole help text and keeps it
      // for a failure later: about 40 ms of measuring strings (cliui, string-width) on the way to the first
      // packet. It is never shown from here: --help does not reach a handler, and our fail() throws instead
      // of printing help. With every key hidden there is next to nothing to render.
      for (const key of [...Object.keys(def.positionals), ...Object.keys(def.options), ...GLOBAL_KEYS]) inner?.hide(key);
      const run = await def.load();
      await run(args);
    },
  };
}

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
  for (const command of COMMANDS) cli = cli.command(toYargs(command));
  await cli.parseAsync();
}
