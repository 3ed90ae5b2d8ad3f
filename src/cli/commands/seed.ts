/**
 * `dht-node seed <path|file.torrent>` (CLI.md): its flags. The implementation is in seed-handler.ts, loaded
 * only when the command runs.
 */
import { DHT_OPTIONS, SWARM_OPTIONS, type SwarmArgs } from '../dht-options.js';
import type { CommandDefinition } from './definition.js';

export interface SeedArgs extends SwarmArgs {
  path: string;
  'piece-length'?: string;
}

export const seedCommand: CommandDefinition = {
  command: 'seed <path>',
  describe: 'serve a file, folder or .torrent to peers until stopped',
  positionals: { path: { type: 'string', demandOption: true, describe: 'file or folder to share, or a .torrent whose data is under --out' } },
  options: {
    ...DHT_OPTIONS,
    ...SWARM_OPTIONS,
    'piece-length': { type: 'string', describe: 'piece size for a torrent made from <path> (default: from the size)' },
  },
  load: async () => {
    const { runSeedCommand } = await import('./seed-handler.js');
    return (args) => runSeedCommand(args as unknown as SeedArgs);
  },
};
