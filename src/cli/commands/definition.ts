/**
 * The shape of a command as cli.ts registers it: its name, text and flags as data, and its implementation
 * behind a loader. `dht-node download` then loads the download code and nothing of lookup, run, bootstrap or
 * create, and `--help` or `--version` loads no command code at all (docs/architecture.md, "Start-up").
 */
import type { Options, PositionalOptions } from 'yargs';

/** A command's implementation, given the parsed arguments; resolves when the command is done. */
export type CommandRunner = (args: Record<string, unknown>) => Promise<void>;

export interface CommandDefinition {
  /** yargs' command string: the name and its positionals, e.g. `download <source>`. */
  command: string;
  describe: string;
  /** In the order of `command`'s placeholders. */
  positionals: Record<string, PositionalOptions>;
  /** In the order `--help` lists them. */
  options: Record<string, Options>;
  examples?: readonly (readonly [command: string, meaning: string])[];
  /** Imports the implementation; called only when this command runs. */
  load: () => Promise<CommandRunner>;
}
