/**
 * The option groups of CLI.md as plain data, so a command's definition (commands/<name>.ts) can list its
 * flags without loading any of its implementation: the DHT group (lookup, run, bootstrap, seed, download),
 * the service group (run, bootstrap) and the swarm group (seed, download); and the checks that turn the
 * DHT and service groups into resolved settings.
 */
import { homedir } from 'node:os';
import type { Options } from 'yargs';
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

/** The DHT group of CLI.md. */
export const DHT_OPTIONS = {
  bind: { type: 'string', describe: 'local address for every socket (default all interfaces)' },
  bind6: { type: 'string', describe: "IPv6 address for the BEP 32 DHT socket (default :: unless --bind is given; 'none' for no IPv6)" },
  'dht-port': { type: 'number', describe: 'UDP DHT port; 0 picks a free one (default --port, else 0)' },
  bootstrap: { type: 'string', array: true, describe: 'host:port to join through (repeatable); replaces the default list in bootstrap/nodes.txt' },
  'state-dir': { type: 'string', describe: 'where state lives (default $XDG_STATE_HOME/dht-node)' },
  'allow-local': { type: 'boolean', default: false, describe: 'accept loopback and private addresses (LAN use, tests)' },
  json: { type: 'boolean', default: false, describe: 'one JSON object per line on stdout' },
} as const satisfies Record<string, Options>;

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

/** The service group: run and bootstrap. */
export const SERVICE_OPTIONS = {
  'ip-rate-limit': { type: 'number', default: DEFAULT_IP_RATE_LIMIT, describe: 'queries/s one address may send (averaged over 10 s) before it is ignored for 5 minutes; 0 = off' },
  'stats-interval': { type: 'number', describe: 'print a one-line summary (a JSON stats event with --json) every N seconds' },
  metrics: { type: 'string', describe: 'serve counters in the Prometheus text format at http://host:port/metrics' },
} as const satisfies Record<string, Options>;

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

/** Flags shared by seed and download (CLI.md); checked by resolveSwarmArgs in swarm-command.ts. */
export interface SwarmArgs extends DhtArgs {
  port?: number;
  peer?: string[];
  out?: string;
  'upload-limit'?: string;
  'download-limit'?: string;
  dht?: boolean;
  tracker?: string[];
}

/** The swarm group: seed and download. */
export const SWARM_OPTIONS = {
  port: { type: 'number', default: 0, describe: 'TCP peer port; 0 picks a free one' },
  peer: { type: 'string', array: true, describe: 'connect to this peer, host:port (repeatable or comma-separated)' },
  out: { type: 'string', describe: "the folder the torrent's files live in (default the current folder)" },
  'upload-limit': { type: 'string', default: '0', describe: 'bytes/s over all peers, with k/M/G suffixes; 0 = no limit' },
  'download-limit': { type: 'string', default: '0', describe: 'bytes/s over all peers, with k/M/G suffixes; 0 = no limit' },
  dht: { type: 'boolean', default: true, describe: 'use the DHT (--no-dht to turn it off)' },
  tracker: { type: 'string', array: true, describe: 'HTTP tracker to announce to as well (repeatable)' },
} as const satisfies Record<string, Options>;
