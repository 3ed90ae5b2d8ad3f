/** The DHT option group of CLI.md, shared by lookup, run, bootstrap, seed and download. */
import type { Argv } from 'yargs';
import { parseHostPortList, parsePort } from './args.js';
import type { HostPortName } from '../app/bootstrap-list.js';

export interface DhtArgs {
  bind?: string;
  port?: number;
  'dht-port'?: number;
  bootstrap?: string[];
  'state-dir'?: string;
  'allow-local'?: boolean;
  json?: boolean;
}

export function withDhtOptions<T>(y: Argv<T>): Argv<T & DhtArgs> {
  return y
    .option('bind', { type: 'string', describe: 'local address for every socket (default all interfaces)' })
    .option('dht-port', { type: 'number', describe: 'UDP DHT port; 0 picks a free one (default --port, else 0)' })
    .option('bootstrap', { type: 'string', array: true, describe: 'host:port to join through (repeatable); replaces the default list in bootstrap/nodes.txt' })
    .option('state-dir', { type: 'string', describe: 'where state lives (default $XDG_STATE_HOME/dht-node)' })
    .option('allow-local', { type: 'boolean', default: false, describe: 'accept loopback and private addresses (LAN use, tests)' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line on stdout' }) as Argv<T & DhtArgs>;
}

export interface ResolvedDhtArgs {
  bind: string;
  dhtPort: number;
  bootstrap: HostPortName[] | undefined;
  allowLocal: boolean;
}

/** Checks the group and applies CLI.md's defaults (--dht-port defaults to --port where both exist). */
export function resolveDhtArgs(args: DhtArgs): ResolvedDhtArgs {
  const dhtPort = args['dht-port'] !== undefined ? parsePort(args['dht-port'], '--dht-port') : args.port !== undefined ? parsePort(args.port, '--port') : 0;
  const bootstrap = args.bootstrap === undefined ? undefined : parseHostPortList(args.bootstrap, '--bootstrap');
  return { bind: args.bind ?? '0.0.0.0', dhtPort, bootstrap, allowLocal: args['allow-local'] ?? false };
}
