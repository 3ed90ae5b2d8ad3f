/**
 * `dht-node bootstrap` (CLI.md; bootstrap/README.md is the operator's guide): its flags. The implementation
 * is in bootstrap-handler.ts, loaded only when the command runs.
 */
import { DEFAULT_POOL_SIZE } from '../../dht/bootstrap-pool.js';
import { DHT_OPTIONS, SERVICE_OPTIONS, type DhtArgs, type ServiceArgs } from '../dht-options.js';
import type { CommandDefinition } from './definition.js';

export interface BootstrapArgs extends DhtArgs, ServiceArgs {
  'ping-delay'?: number;
  'pool-size'?: number;
  'enforce-bep42'?: boolean;
}

export const bootstrapCommand: CommandDefinition = {
  command: 'bootstrap',
  describe: 'run a bootstrap node: a pool of verified nodes handed out round-robin',
  positionals: {},
  options: {
    ...DHT_OPTIONS,
    ...SERVICE_OPTIONS,
    port: { type: 'number', describe: 'alias for --dht-port (the UDP port; 6881 is customary)' },
    'ping-delay': { type: 'number', default: 900, describe: 'seconds after first contact before a node is pinged and may enter the pool' },
    'pool-size': { type: 'number', default: DEFAULT_POOL_SIZE, describe: 'verified nodes the pool holds (about 60 bytes each in memory)' },
    'enforce-bep42': { type: 'boolean', default: false, describe: 'admit only nodes whose id matches their IP (BEP 42)' },
  },
  load: async () => {
    const { runBootstrapCommand } = await import('./bootstrap-handler.js');
    return (args) => runBootstrapCommand(args as unknown as BootstrapArgs);
  },
};
