/**
 * The magnet half of a download: with only an infohash, find peers (the DHT, `x.pe` hints, --peer,
 * trackers) and fetch the info dictionary from them (BEP 9) before the swarm can start. Peers are dialled
 * the moment they are found; the person waiting cares most about time to metadata.
 */
import type { InfoDictionary } from '../codec/metainfo.js';
import { DhtPeerSource } from '../discovery/dht-source.js';
import { dialTcp } from '../net/tcp.js';
import { MetadataFetcher } from '../swarm/metadata-fetcher.js';
import type { PeerEndpoint } from '../swarm/peer-queue.js';
import type { Clock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { RunningDht } from './dht.js';
import type { PeerSourceStarter, SwarmHandle } from './download.js';

/** While nobody has given us the metadata, the DHT is asked again this often (a seeder may just be joining). */
const METADATA_RELOOKUP_MS = 5_000;

export interface MetadataSearch {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  /** Addresses to try at once (magnet `x.pe`, --peer). */
  peers: readonly PeerEndpoint[];
  /** The DHT to search, unless --no-dht. */
  dht: RunningDht | undefined;
  /** Further sources (trackers): each gets a callback for the peers it finds and returns a stop function. */
  extraSources?: readonly ((onPeer: (p: PeerEndpoint) => void) => () => void)[];
  bind: string | undefined;
  clock: Clock;
  random: Random;
  log: Logger;
  signal: AbortSignal;
}

export interface FoundMetadata {
  info: InfoDictionary;
  /** Peers that served it or offered it: the first candidates for the download. */
  peers: PeerEndpoint[];
  /** Every peer heard of while searching. */
  heard: PeerEndpoint[];
}

/** Resolves with the verified info dictionary; rejects when `signal` aborts (the caller's --timeout). */
export async function findMetadata(s: MetadataSearch): Promise<FoundMetadata> {
  const fetcher = new MetadataFetcher(
    {
      clock: s.clock,
      random: s.random,
      log: s.log,
      dial: (peer, signal) => dialTcp({ clock: s.clock }, { host: peer.host, port: peer.port, localAddress: s.bind, signal }),
    },
    { infoHash: s.infoHash, peerId: s.peerId },
  );
  const heard: PeerEndpoint[] = [];
  const onPeer = (p: PeerEndpoint): void => {
    if (heard.length < 10_000) heard.push(p);
    fetcher.addPeer(p);
  };
  for (const p of s.peers) onPeer(p);
  const source = s.dht ? new DhtPeerSource({ nodes: s.dht.nodes, clock: s.clock, log: s.log }, { infoHash: s.infoHash, relookupMs: METADATA_RELOOKUP_MS }) : undefined;
  source?.start(onPeer);
  // The first lookup leaves before the saved state is loaded (startSwarmDht), from the bootstrap list
  // alone; once saved contacts are known, look again from them rather than at the next re-lookup.
  s.dht?.stateReady.then(
    () => {
      if (s.dht !== undefined && s.dht.savedContacts.length > 0) source?.lookSoon();
    },
    () => undefined,
  );
  const stops = (s.extraSources ?? []).map((start) => start(onPeer));
  try {
    const { info, peers } = await fetcher.fetch(s.signal);
    return { info, peers, heard };
  } finally {
    source?.stop();
    for (const stop of stops) stop();
    fetcher.close();
  }
}

/**
 * The DHT as a peer source of a running swarm: looks up peers while the download needs them and announces
 * our TCP port (now, and every 15 minutes while we keep seeding).
 */
export function dhtSwarmSource(dht: RunningDht, log: Logger, onAnnounced?: (nodes: number) => void): PeerSourceStarter {
  return (handle: SwarmHandle) => {
    const source = new DhtPeerSource(
      { nodes: dht.nodes, clock: dht.clock, log },
      { infoHash: handle.info.infoHash, announcePort: handle.tcpPort, ...(onAnnounced ? { onAnnounced } : {}) },
    );
    const wantPeers = (): boolean => !handle.session.isComplete();
    source.setWantPeers(wantPeers());
    handle.session.on('complete', () => source.setWantPeers(false));
    source.start((p) => handle.addPeer(p));
    log.debug('dht source started', { infohash: toHex(handle.info.infoHash) });
    return async () => source.stop();
  };
}

