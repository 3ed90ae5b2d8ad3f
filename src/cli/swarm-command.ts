/**
 * What the two swarm commands, seed and download, share (CLI.md): the checks of their option group,
 * discovery (the DHT node and trackers), output (JSON events or a progress line), failures mapped to exit
 * codes, and runSwarmCommand, the life both run in.
 */
import { resolve } from 'node:path';
import { loadTorrent, SwarmAppError, type EventSink, type SwarmParams } from '../app/download.js';
import type { RunningDht } from '../app/dht.js';
import { dhtPeerOptions, dhtReadyFields, dhtSources, startSwarmDht } from '../app/swarm-dht.js';
import { keepProcessAlive } from '../util/clock.js';
import { errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { cliLogger } from './logger.js';
import { parseHostPortList, parsePort, parseRate, type HostPort } from './args.js';
import { resolveDhtArgs, type SwarmArgs } from './dht-options.js';
import { CliError, EXIT } from './exit-codes.js';
import { Output } from './output.js';
import { ProgressLine } from './progress.js';
import { onShutdown } from './shutdown.js';

export interface ResolvedSwarmArgs {
  out: Output;
  dir: string;
  peers: HostPort[];
  port: number;
  bind: string | undefined;
  uploadLimit: number;
  downloadLimit: number;
  trackers: string[];
  allowLocal: boolean;
}

/**
 * The HTTP tracker code (and with it node:http and node:https), imported only when there are trackers: most
 * magnet links name none, and a download should not compile it on the way to its first query.
 */
export function trackerCode(): Promise<typeof import('../app/tracker-sources.js')> {
  return import('../app/tracker-sources.js');
}

export async function resolveSwarmArgs(args: SwarmArgs): Promise<ResolvedSwarmArgs> {
  const out = new Output(args.json === true);
  const resolved = {
    out,
    dir: resolve(args.out ?? '.'),
    peers: parseHostPortList(args.peer, '--peer'),
    port: parsePort(args.port ?? 0, '--port'),
    bind: args.bind,
    uploadLimit: parseRate(args['upload-limit'] ?? '0', '--upload-limit'),
    downloadLimit: parseRate(args['download-limit'] ?? '0', '--download-limit'),
    trackers: args.tracker !== undefined && args.tracker.length > 0 ? (await trackerCode()).collectTrackers(args.tracker) : [],
    allowLocal: args['allow-local'] === true,
  };
  for (const t of resolved.trackers) {
    if (!/^https?:\/\//i.test(t)) out.warn(`tracker ${t}: only http:// and https:// trackers are supported; it will be skipped`);
  }
  return resolved;
}

/**
 * Starts the DHT node of a seed or download (unless --no-dht) on the role's state, so repeat runs start
 * from known nodes. Two commands at once share nothing: the second runs without saved state.
 */
export async function startCommandDht(args: SwarmArgs, role: string, log: Logger): Promise<RunningDht | undefined> {
  if (args.dht === false) return undefined;
  const d = resolveDhtArgs(args);
  return startSwarmDht(
    { bind: d.bind, bind6: d.bind6, port: d.dhtPort, bootstrap: d.bootstrap, allowLocal: d.allowLocal, state: { dir: d.stateDir, role, optional: true } },
    log,
  );
}

/**
 * The SwarmParams fields that tie a swarm to its peer discovery: the DHT node (unless off, or the torrent is
 * private, BEP 27) and the HTTP trackers.
 */
export async function discoveryParams(
  dht: RunningDht | undefined,
  trackers: readonly string[],
  common: Pick<ResolvedSwarmArgs, 'allowLocal' | 'bind'>,
  log: Logger,
  onEvent: EventSink,
): Promise<Pick<SwarmParams, 'peerSources' | 'peerOptions' | 'readyFields'>> {
  const sources = trackers.length > 0 ? [(await trackerCode()).trackerSwarmSource(trackers, common.allowLocal, common.bind, log)] : [];
  if (!dht) return { peerSources: sources };
  const onAnnounced = (nodes: number): void => onEvent('announced', { nodes });
  return { peerSources: [...dhtSources(dht, log, onAnnounced), ...sources], peerOptions: dhtPeerOptions(dht), readyFields: dhtReadyFields(dht) };
}

/** What a seed or download run gets from runSwarmCommand. */
export interface SwarmCommandContext {
  log: Logger;
  dht: RunningDht | undefined;
  /** Trackers from the torrent or magnet link and --tracker, deduplicated. */
  trackers: string[];
  onEvent: EventSink;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** SwarmParams fields for the DHT and the trackers. */
  discovery: Pick<SwarmParams, 'peerSources' | 'peerOptions' | 'readyFields'>;
}

/**
 * The life both swarm commands share: output, SIGINT/SIGTERM, holding the process open, the DHT node
 * (unless --no-dht, or the torrent is private: BEP 27, trackers only), failures mapped to exit codes, and
 * everything closed in order at the end.
 */
export async function runSwarmCommand(
  args: SwarmArgs,
  common: ResolvedSwarmArgs,
  role: 'seed' | 'download',
  hints: { trackers: readonly string[]; private: boolean },
  run: (ctx: SwarmCommandContext) => Promise<unknown>,
): Promise<void> {
  const log = cliLogger();
  const sink = makeSink(common.out);
  const controller = new AbortController();
  const stopSignals = onShutdown(() => controller.abort());
  const release = keepProcessAlive();
  let dht: RunningDht | undefined;
  try {
    if (hints.private && args.dht !== false) log.warn('private torrent (BEP 27): trackers only, no DHT');
    dht = hints.private ? undefined : await startCommandDht(args, role, log);
    // The node runs before its saved state is loaded (startSwarmDht); a state that cannot be opened stops
    // the command as it did when the state was opened first.
    let stateFailure: unknown;
    dht?.stateReady.catch((err: unknown) => {
      stateFailure = err;
      controller.abort();
    });
    const trackers = hints.trackers.length + common.trackers.length > 0 ? (await trackerCode()).collectTrackers(hints.trackers, common.trackers) : [];
    const discovery = await discoveryParams(dht, trackers, common, log, sink.onEvent);
    const outcome = await run({ log, dht, trackers, onEvent: sink.onEvent, signal: controller.signal, discovery }).then(
      () => ({ failed: false as const }),
      (err: unknown) => ({ failed: true as const, err }),
    );
    await dht?.stateReady.catch(() => undefined);
    if (stateFailure !== undefined) throw stateFailure;
    if (outcome.failed) throw outcome.err;
  } catch (err) {
    throw mapFailure(err);
  } finally {
    await dht?.close().catch(() => undefined);
    sink.end();
    release();
    stopSignals();
  }
}

/** Trackers of a .torrent given on the command line, and whether it is private (BEP 27: no DHT). */
export async function torrentDiscoveryHints(path: string): Promise<{ trackers: string[]; private: boolean }> {
  if (!path.toLowerCase().endsWith('.torrent')) return { trackers: [], private: false };
  try {
    const m = await loadTorrent(path);
    return { trackers: m.trackers, private: m.private };
  } catch {
    return { trackers: [], private: false }; // the run itself reports an unreadable torrent
  }
}

/** Maps app failures to CLI errors and exit codes (CLI.md: 2 bad input, 3 gave up, 1 run time). */
export function mapFailure(err: unknown): unknown {
  if (err instanceof SwarmAppError) {
    const exit = err.kind === 'usage' ? EXIT.usage : err.kind === 'gave-up' ? EXIT.gaveUp : EXIT.failure;
    return new CliError(err.code, err.message, exit);
  }
  if (err instanceof CliError) return err;
  return new CliError(errorCode(err) ?? 'internal', errorMessage(err), EXIT.failure);
}

/** JSON events as they come; for humans, a few lines and a progress line redrawn on a terminal. */
export function makeSink(out: Output): { onEvent: EventSink; end: () => void } {
  const line = !out.json && process.stdout.isTTY === true ? new ProgressLine(process.stdout) : undefined;
  const onEvent: EventSink = (event, f) => {
    if (out.json) return out.event(event, f);
    switch (event) {
      case 'ready':
        line?.end();
        return out.info(`${typeof f.magnet === 'string' ? f.magnet + '\n' : ''}listening on TCP port ${String(f.tcpPort)}; ${String(f.have)}/${String(f.pieces)} pieces verified`);
      case 'announced':
        return out.info(`announced on the DHT to ${String(f.nodes)} nodes`);
      case 'searching':
        return out.info(`finding peers and fetching the metadata of ${String(f.infohash)}...`);
      case 'metadata':
        return out.info(`${String(f.name)}: ${String(f.bytes)} bytes in ${String(f.pieces)} pieces, infohash ${String(f.infohash)}`);
      case 'complete':
        line?.end();
        return out.info(`complete: ${String(f.bytes)} bytes verified in ${(Number(f.ms) / 1000).toFixed(1)} s`);
      case 'progress':
        return line?.update({
          have: Number(f.have), pieces: Number(f.pieces), bytesHave: Number(f.bytes), bytesTotal: Number(f.total), down: Number(f.down), up: Number(f.up), peers: Number(f.peers),
        });
      case 'stats':
        if (f.final === true) {
          line?.end();
          out.info(`uploaded ${String(f.uploaded)} bytes, downloaded ${String(f.downloaded)} bytes`);
        }
        return;
      default:
        return;
    }
  };
  return { onEvent, end: () => line?.end() };
}
