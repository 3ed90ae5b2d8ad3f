/**
 * `dht-node download <magnet|infohash|file.torrent>` (CLI.md): its flags. The implementation is in
 * download-handler.ts, loaded only when the command runs.
 */
import { DHT_OPTIONS, SWARM_OPTIONS, type SwarmArgs } from '../dht-options.js';
import type { CommandDefinition } from './definition.js';

export interface DownloadArgs extends SwarmArgs {
  source: string;
  'seed-after'?: boolean;
  timeout?: number;
}

export const downloadCommand: CommandDefinition = {
  command: 'download <source>',
  describe: 'download a torrent from a magnet link, an infohash or a .torrent file, and verify it',
  positionals: { source: { type: 'string', demandOption: true, describe: 'magnet link, 40-hex infohash, or .torrent file' } },
  options: {
    ...DHT_OPTIONS,
    ...SWARM_OPTIONS,
    'seed-after': { type: 'boolean', default: false, describe: 'keep seeding after the download completes' },
    timeout: { type: 'number', describe: 'give up (exit 3) if not complete after this many seconds' },
  },
  load: async () => {
    const { runDownloadCommand } = await import('./download-handler.js');
    return (args) => runDownloadCommand(args as unknown as DownloadArgs);
  },
};
