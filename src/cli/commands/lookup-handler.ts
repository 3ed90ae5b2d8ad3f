/** `dht-node lookup <infohash|magnet>`: find peers for a torrent through the DHT (CLI.md). */
import { runLookupApp } from '../../app/lookup.js';
import { parseMagnet } from '../../codec/magnet.js';
import { DEFAULT_LOOKUP_TIMEOUT_MS } from '../../dht/constants.js';
import { toHex } from '../../util/bytes.js';
import { SystemClock } from '../../util/clock.js';
import { errorCode, errorMessage } from '../../util/errors.js';
import { cliLogger } from '../logger.js';
import { parsePort, parseSeconds } from '../args.js';
import { resolveDhtArgs } from '../dht-options.js';
import { CliError, EXIT } from '../exit-codes.js';
import { Output } from '../output.js';
import { onShutdown } from '../shutdown.js';
import type { LookupArgs } from './lookup.js';


/** Runs `lookup` with parsed arguments. */
export async function runLookupCommand(args: LookupArgs): Promise<void> {
  const out = new Output(args.json ?? false);
  let infoHash: Uint8Array;
  try {
    infoHash = parseMagnet(args.target).infoHash;
  } catch (err) {
    throw new CliError(errorCode(err) ?? 'bad_target', `"${args.target}": ${errorMessage(err)}`, EXIT.usage);
  }
  const dhtArgs = resolveDhtArgs(args);
  const announcePort = args.port === undefined ? undefined : parsePort(args.port, '--port');
  if (announcePort === 0) throw new CliError('bad_port', '--port 0 cannot be announced; omit it for implied_port', EXIT.usage);
  const timeoutMs = args.timeout === undefined ? DEFAULT_LOOKUP_TIMEOUT_MS : parseSeconds(args.timeout, '--timeout');
  const abort = new AbortController();
  const removeSignals = onShutdown(() => abort.abort());
  const clock = new SystemClock();
  const started = clock.now();
  try {
    const result = await runLookupApp(
      {
        bind: dhtArgs.bind,
        bind6: dhtArgs.bind6,
        port: dhtArgs.dhtPort,
        bootstrap: dhtArgs.bootstrap,
        allowLocal: dhtArgs.allowLocal,
        state: { dir: dhtArgs.stateDir, role: 'lookup', optional: true },
        infoHash,
        timeoutMs,
        announce: args.announce ?? false,
        announcePort,
        signal: abort.signal,
      },
      (e) => {
        switch (e.type) {
          case 'ready':
            out.event('ready', { dhtPort: e.dhtPort, nodeId: toHex(e.nodeId), infohash: toHex(infoHash) });
            break;
          case 'peer':
            out.event('peer', { host: e.peer.host, port: e.peer.port }, `${e.peer.host.includes(':') ? `[${e.peer.host}]` : e.peer.host}:${e.peer.port}`);
            break;
          case 'announced':
            out.event('announced', { ok: e.ok, failed: e.failed }, `announced to ${e.ok} of ${e.ok + e.failed} closest nodes`);
            break;
        }
      },
      cliLogger(),
    );
    const s = result;
    const ms = Math.round(clock.now() - started);
    out.event(
      'done',
      { peers: s.peers, queries: result.queriesSent, nodes: s.responses, ms, outcome: s.outcome },
      `${s.peers} peer${s.peers === 1 ? '' : 's'} from ${s.responses} nodes, ${result.queriesSent} queries, ${ms} ms${s.outcome === 'complete' ? '' : ` (${s.outcome})`}`,
    );
    if (s.responses === 0) throw new CliError('no_nodes', 'no DHT node answered; check --bootstrap and the network', EXIT.gaveUp);
    if (s.peers === 0 && s.outcome === 'timeout') throw new CliError('timeout', `no peers found within ${timeoutMs / 1000} s`, EXIT.gaveUp);
  } finally {
    removeSignals();
  }
}
