/**
 * `dht-node lookup <infohash|magnet>` (CLI.md): its flags. The implementation is in lookup-handler.ts, loaded
 * only when the command runs.
 */
import { DEFAULT_LOOKUP_TIMEOUT_MS } from '../../dht/constants.js';
import { DHT_OPTIONS, type DhtArgs } from '../dht-options.js';
import type { CommandDefinition } from './definition.js';

export interface LookupArgs extends DhtArgs {
  target: string;
  announce?: boolean;
  timeout?: number;
}

export const lookupCommand: CommandDefinition = {
  command: 'lookup <target>',
  describe: 'find peers for a torrent through the DHT',
  positionals: { target: { type: 'string', demandOption: true, describe: 'infohash (40 hex) or magnet link' } },
  options: {
    ...DHT_OPTIONS,
    port: { type: 'number', describe: 'with --announce: the TCP port to announce (default: implied_port)' },
    announce: { type: 'boolean', default: false, describe: 'announce ourselves for the infohash after the lookup' },
    timeout: { type: 'number', describe: `give up after this many seconds (default ${DEFAULT_LOOKUP_TIMEOUT_MS / 1000})` },
  },
  examples: [
    ['$0 lookup 0123456789abcdef0123456789abcdef01234567', 'peers for an infohash'],
    ["$0 lookup 'magnet:?xt=urn:btih:...' --json", 'one JSON object per line'],
  ],
  load: async () => {
    const { runLookupCommand } = await import('./lookup-handler.js');
    return (args) => runLookupCommand(args as unknown as LookupArgs);
  },
};
