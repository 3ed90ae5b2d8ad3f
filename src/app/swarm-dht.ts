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
import type { PeerSourceStarter, SwarmHandle } from './download.js';
import { dhtSwarmSource } from './magnet.js';

export async function startSwarmDht(options: StartDhtOptions, log: Logger): Promise<RunningDht> {
  const dht = await startDht(options, log);
  for (const node of dht.nodes) {
    node.start();
    node
      .restore(dht.savedContacts)
      .then(() => node.bootstrap())
      .catch((err: unknown) => log.debug('dht join failed', { err: errorMessage(err) }));
  }
  return dht;
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
