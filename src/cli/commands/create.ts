/**
 * `dht-node create <file|dir>` (CLI.md): its flags, and the --piece-length parser it shares with `seed`. The
 * implementation is in create-handler.ts, loaded only when the command runs.
 */
import { CliError, EXIT } from '../exit-codes.js';
import type { CommandDefinition } from './definition.js';

export interface CreateArgs {
  path: string;
  out?: string;
  'piece-length'?: string;
  tracker?: string[];
  comment?: string;
  private?: boolean;
  force?: boolean;
  json?: boolean;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2 };

/** `262144`, `256k`, `4M` (binary multiples). */
export function parsePieceLength(text: string): number {
  const m = /^\s*(\d+)\s*([kKmM]?)(?:i?B)?\s*$/.exec(text);
  if (!m) throw new CliError('bad_piece_length', `--piece-length "${text}" is not a size such as 256k or 1M`, EXIT.usage);
  return Number(m[1]) * (SIZE_UNITS[(m[2] as string).toLowerCase()] as number);
}

export const createCommand: CommandDefinition = {
  command: 'create <path>',
  describe: 'make a .torrent from a file or folder and print its magnet link',
  positionals: { path: { type: 'string', demandOption: true, describe: 'file or folder to share' } },
  options: {
    out: { alias: 'o', type: 'string', describe: 'where to write the .torrent (default <name>.torrent here)' },
    'piece-length': { type: 'string', describe: 'piece size, a power of two from 16k to 64M (default: from the size)' },
    tracker: { type: 'string', array: true, describe: 'tracker URL to put in the torrent (repeatable)' },
    comment: { type: 'string', describe: 'comment stored in the torrent' },
    private: { type: 'boolean', default: false, describe: 'set the BEP 27 private flag (no DHT)' },
    force: { type: 'boolean', default: false, describe: 'replace an existing output file' },
    json: { type: 'boolean', default: false, describe: 'one JSON event per line on stdout' },
  },
  load: async () => {
    const { runCreateCommand } = await import('./create-handler.js');
    return (args) => runCreateCommand(args as unknown as CreateArgs);
  },
};
