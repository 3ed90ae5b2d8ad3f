/** `dht-node run` (CLI.md): its flags. The implementation is in run-handler.ts, loaded only when the command runs. */
import { DHT_OPTIONS, SERVICE_OPTIONS, type DhtArgs, type ServiceArgs } from '../dht-options.js';
import type { CommandDefinition } from './definition.js';

export type RunArgs = DhtArgs & ServiceArgs & { bep42?: string };

export const runCommand: CommandDefinition = {
  command: 'run',
  describe: 'join the DHT as a long-lived participant',
  positionals: {},
  options: {
    ...DHT_OPTIONS,
    ...SERVICE_OPTIONS,
    port: { type: 'number', describe: 'alias for --dht-port (the UDP port)' },
    bep42: {
      choices: ['off', 'prefer', 'require'],
      default: 'off',
      describe: "BEP 42 for others' ids: prefer nodes whose id matches their IP when a bucket is full, or require it",
    },
  },
  load: async () => {
    const { runRunCommand } = await import('./run-handler.js');
    return (args) => runRunCommand(args as unknown as RunArgs);
  },
};
