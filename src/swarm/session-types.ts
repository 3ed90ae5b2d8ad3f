/**
 * The public surface of a TorrentSession: its dependencies, options, events and reports.
 */
import type { Duplex } from 'node:stream';
import type { InfoDictionary } from '../codec/metainfo.js';
import type { PeerConnectionOptions } from '../peer/options.js';
import type { PieceStorage } from '../storage/piece-storage.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { PeerIdentity } from './ban-list.js';
import type { PeerEndpoint } from './peer-queue.js';

/** Connections per torrent (libtorrent's default connections_limit per torrent is in this range). */
export const MAX_PEERS = 50;

export type SessionInfo = Pick<InfoDictionary, 'infoHash' | 'infoBytes' | 'pieceLength' | 'pieceCount' | 'totalLength' | 'name'>;

export interface TorrentSessionDeps {
  clock: Clock;
  random: Random;
  log: Logger;
  storage: PieceStorage;
  /** Opens a byte stream to a peer (TCP in production, in-memory pairs in tests). */
  dial: (endpoint: PeerEndpoint, signal: AbortSignal) => Promise<Duplex>;
}

export interface TorrentSessionOptions {
  info: SessionInfo;
  /** Our peer id (default: generated from deps.random). */
  peerId?: Uint8Array;
  /** Our TCP listen port, sent in the BEP 10 handshake. */
  listenPort?: number;
  /** Bytes/s over all peers; 0 = unlimited. */
  uploadLimit?: number;
  downloadLimit?: number;
  maxPeers?: number;
  maxConnecting?: number;
  dialSpacingMs?: number;
  chokeIntervalMs?: number;
  /** Sole-supplier hash failures before a ban (default BAN_STRIKES). */
  banStrikes?: number;
  /** Download missing pieces (default true). A pure seeder of data it must not change passes false. */
  leech?: boolean;
  /**
   * Show pieces to leechers a few at a time (src/swarm/super-seed.ts) when we start as a seed. 'auto'
   * (default): only under an upload limit, where the seeder's upload is what the swarm waits for.
   */
  superSeed?: boolean | 'auto';
  /** Memory for whole pieces read for serving (default READ_CACHE_BYTES, src/swarm/piece-read-cache.ts). */
  readCacheBytes?: number;
  /** Passed to every PeerConnection (timeouts, pipeline depth). */
  peerOptions?: Partial<Omit<PeerConnectionOptions, 'role' | 'peerId' | 'infohash' | 'pieceCount'>>;
}

export interface SessionEvents {
  /** A piece passed its hash check. */
  piece: [index: number];
  /** Every piece is verified. */
  complete: [];
  /** A peer finished its handshake. */
  peer: [PeerIdentity];
  banned: [PeerIdentity, reason: string];
  /** A fatal local failure (storage): the session stops downloading. */
  error: [Error];
  /** BEP 5: a peer told us its DHT port (PORT message); the DHT may ping it and add it to its table. */
  'dht-node': [host: string, port: number];
}

export interface SessionProgress {
  have: number;
  pieces: number;
  bytesHave: number;
  bytesTotal: number;
  /** Payload bytes/s over all peers. */
  down: number;
  up: number;
  peers: number;
}

export interface SessionStats {
  uploaded: number;
  downloaded: number;
  peers: number;
  hashFailures: number;
  bans: number;
  dialFailures: number;
  inboundRefused: number;
  violations: number;
  /** Peers we currently upload to (the choker's regular and optimistic slots). */
  unchoked: number;
}
