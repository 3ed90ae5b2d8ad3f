/** The DHT option group of CLI.md, shared by lookup, run, bootstrap, seed and download. */
import { homedir } from 'node:os';
import type { Argv } from 'yargs';
import { defaultStateDir } from '../state/state-dir.js';
import { parseHostPort, parseHostPortList, parsePort, parseSeconds, type HostPort } from './args.js';
import { CliError, EXIT } from './exit-codes.js';
import { DEFAULT_IP_RATE_LIMIT } from '../krpc/ip-limiter.js';
import type { HostPortName } from '../app/bootstrap-list.js';

export interface DhtArgs {
  bind?: string;
  bind6?: string;
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
    .option('bind6', { type: 'string', describe: "IPv6 address for the BEP 32 DHT socket (default :: unless --bind is given; 'none' for no IPv6)" })
    .option('dht-port', { type: 'number', describe: 'UDP DHT port; 0 picks a free one (default --port, else 0)' })
    .option('bootstrap', { type: 'string', array: true, describe: 'host:port to join through (repeatable); replaces the default list in bootstrap/nodes.txt' })
    .option('state-dir', { type: 'string', describe: 'where state lives (default $XDG_STATE_HOME/dht-node)' })
    .option('allow-local', { type: 'boolean', default: false, describe: 'accept loopback and private addresses (LAN use, tests)' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line on stdout' }) as Argv<T & DhtArgs>;
}

export interface ResolvedDhtArgs {
  bind: string;
  bind6: string | undefined;
  dhtPort: number;
  bootstrap: HostPortName[] | undefined;
  allowLocal: boolean;
  stateDir: string;
}

/** Checks the group and applies CLI.md's defaults (--dht-port defaults to --port where both exist). */
export function resolveDhtArgs(args: DhtArgs): ResolvedDhtArgs {
  const dhtPort = args['dht-port'] !== undefined ? parsePort(args['dht-port'], '--dht-port') : args.port !== undefined ? parsePort(args.port, '--port') : 0;
  const bootstrap = args.bootstrap === undefined ? undefined : parseHostPortList(args.bootstrap, '--bootstrap');
  const stateDir = args['state-dir'] ?? defaultStateDir(process.env, homedir());
  // An explicit --bind pins every socket to that address; IPv6 then only on request.
  const bind6 = args.bind6 === 'none' ? undefined : args.bind6 ?? (args.bind === undefined ? '::' : undefined);
  return { bind: args.bind ?? '0.0.0.0', bind6, dhtPort, bootstrap, allowLocal: args['allow-local'] ?? false, stateDir };
}

/** Options of long-running DHT services (run, bootstrap). */
export interface ServiceArgs {
  'ip-rate-limit'?: number;
  'stats-interval'?: number;
  metrics?: string;
}

export function withServiceOptions<T>(y: Argv<T>): Argv<T & ServiceArgs> {
  return y
    .option('ip-rate-limit', { type: 'number', default: DEFAULT_IP_RATE_LIMIT, describe: 'queries/s one address may send (averaged over 10 s) before it is ignored for 5 minutes; 0 = off' })
    .option('stats-interval', { type: 'number', describe: 'print a one-line summary (a JSON stats event with --json) every N seconds' })
    .option('metrics', { type: 'string', describe: 'serve counters in the Prometheus text format at http://host:port/metrics' }) as Argv<T & ServiceArgs>;
}

export interface ResolvedServiceArgs {
  ipRateLimit: number;
  statsIntervalMs: number | undefined;
  metrics: HostPort | undefined;
}

export function resolveServiceArgs(args: ServiceArgs): ResolvedServiceArgs {
  const rate = Number(args['ip-rate-limit'] ?? DEFAULT_IP_RATE_LIMIT);
  if (!Number.isFinite(rate) || rate < 0) throw new CliError('bad_rate', '--ip-rate-limit must be 0 or more', EXIT.usage);
  return {
    ipRateLimit: rate,
    statsIntervalMs: args['stats-interval'] === undefined ? undefined : parseSeconds(args['stats-interval'], '--stats-interval'),
    metrics: args.metrics === undefined ? undefined : parseHostPort(args.metrics, '--metrics'),
  };
}
