/**
 * The DHT side of seed and download: a participating node (not read-only) on the state of the role, its
 * table restored and joined in the background, and the hooks that tie it to a swarm: our DHT port in
 * every handshake (BEP 5 PORT), peers' DHT ports pinged into our table, lookups and announces.
 */
import type { TorrentSessionOptions } from '../swarm/torrent-session.js';
import { toHex } from '../util/bytes.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { startDht, type RunningDht, type StartDhtOptions } from './dht.js';
import { attachDhtState, loadDhtState } from './dht-state.js';
import type { PeerSourceStarter, SwarmHandle } from './download.js';
import { dhtSwarmSource } from './magnet.js';

/**
 * Starts the node as soon as its sockets are bound, without waiting for the saved state: loading LevelDB
 * (a native addon, then the reads) is the slowest step of a start, and a download's first get_peers can
 * leave from the bootstrap list meanwhile. When the state arrives, the node takes its saved id (our place
 * in the keyspace; the table is rebuilt around it), its saved contacts as lookup hints, and its peers; only
 * then are the contacts pinged and the join (a lookup of our own id) run. `stateReady` rejects when the
 * state cannot be opened; the caller treats that as a failure of the command.
 */
export async function startSwarmDht(options: StartDhtOptions, log: Logger): Promise<RunningDht> {
  const { state, ...stateless } = options;
  const loading = state ? loadDhtState(state.dir, state.role, log, state.optional) : Promise.resolve(undefined);
  loading.catch(() => undefined); // seen through stateReady; never an unhandled rejection meanwhile
  let dht: RunningDht;
  try {
    dht = await startDht(stateless, log);
  } catch (err) {
    await (await loading.catch(() => undefined))?.store.close();
    throw err;
  }
  let closing = false;
  const running = dht;
  running.stateReady = loading.then(async (loaded) => {
    if (loaded === undefined) return;
    if (closing) return loaded.store.close();
    if (loaded.nodeId !== undefined && options.id === undefined) for (const n of running.nodes) n.adoptId(loaded.nodeId);
    for (const n of running.nodes) n.addHints(loaded.contacts);
    running.savedContacts = loaded.contacts;
    running.stateReport = loaded.report;
    running.persistence = await attachDhtState(running.nodes, loaded.store, running.clock, log);
  });
  for (const node of running.nodes) {
    node.start();
    running.stateReady
      .then(() => node.restore(running.savedContacts))
      .then(() => node.bootstrap())
      .catch((err: unknown) => log.debug('dht join failed', { err: errorMessage(err) }));
  }
  const closeNodes = running.close.bind(running);
  running.close = async () => {
    closing = true;
    await running.stateReady.catch(() => undefined);
    try {
      await running.persistence?.close();
    } finally {
      await closeNodes();
    }
  };
  return running;
}

/** Peer-connection options that advertise our DHT port (reserved bit and PORT message, BEP 5). */
export function dhtPeerOptions(dht: RunningDht): TorrentSessionOptions['peerOptions'] {
  return { dht: true, dhtPort: dht.transport.local.port };
}

/** The swarm's peer sources for the DHT: lookups and announces, and PORT messages into our table. */
export function dhtSources(dht: RunningDht, log: Logger, onAnnounced?: (nodes: number) => void): PeerSourceStarter[] {
  const learnPorts: PeerSourceStarter = (handle: SwarmHandle) => {
    handle.session.on('dht-node', (host, port) => {
      const node = dht.nodes.find((n) => n.family === (host.includes(':') ? 6 : 4));
      node?.queryNode({ host, port }, { method: 'ping' }).catch(() => undefined);
    });
  };
  return [dhtSwarmSource(dht, log, onAnnounced), learnPorts];
}

/** The `ready` event's DHT fields (CLI.md: nodeId wherever a DHT node runs). */
export function dhtReadyFields(dht: RunningDht): Record<string, unknown> {
  return { dhtPort: dht.transport.local.port, nodeId: toHex(dht.node.id) };
}
