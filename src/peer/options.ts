/**
 * Options of a PeerConnection, their defaults (each a named constant with its reason) and the one place
 * they are merged.
 */
import { MAX_BLOCK_LENGTH } from '../wire/messages.js';
import { OUR_EXTENSION_IDS } from '../wire/extension.js';
import { MAX_INCOMING_REQUESTS } from './incoming-requests.js';
import { MAX_PIPELINE_DEPTH, MIN_PIPELINE_DEPTH, REQUEST_TIMEOUT_MS, TARGET_QUEUE_MS } from './request-pipeline.js';

/** BEP 3: keep-alives are "generally sent once every two minutes" when nothing else was sent. */
export const KEEP_ALIVE_INTERVAL_MS = 120_000;
/** No message at all for this long closes the connection: two missed keep-alives (libtorrent: 120 s inactivity, we allow more). */
export const IDLE_TIMEOUT_MS = 240_000;
/** The peer must complete its handshake within this time (libtorrent `handshake_timeout` 10 s; 30 s tolerates slow links). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;
/** An unchoked peer with our requests out that sends no block for this long is snubbed (libtorrent 60 s). */
export const SNUB_TIMEOUT_MS = 60_000;
/** Housekeeping period: timers are checked once a second, as libtorrent's per-connection second tick. */
export const TICK_MS = 1000;
/** Bytes already waiting in our write buffer past which we leave ut_metadata requests unanswered: a few 16 KiB pieces. */
export const MAX_METADATA_BACKLOG = 64 * 1024;
/** Late blocks for timed-out requests we still accept; bounded by the most requests we ever have out. */
export const MAX_TIMED_OUT_REMEMBERED = MAX_PIPELINE_DEPTH;

export interface PeerConnectionOptions {
  /** 'initiator' sends the handshake first; 'receiver' learns the infohash from the peer. */
  readonly role: 'initiator' | 'receiver';
  /** Our 20-byte peer id (generatePeerId). */
  readonly peerId: Uint8Array;
  /** Required for an initiator; a receiver learns it from the peer's handshake. */
  readonly infohash?: Uint8Array | undefined;
  /** Number of pieces when metadata is known; otherwise call setPieceCount later. */
  readonly pieceCount?: number | undefined;
  /** Set the BEP 5 DHT bit in our handshake (default: whether dhtPort is given). */
  readonly dht?: boolean | undefined;
  /** Our DHT UDP port: sent in a BEP 5 `port` message right after the handshakes to peers that set the DHT bit. */
  readonly dhtPort?: number | undefined;
  /** Speak BEP 10 (default true). */
  readonly extensions?: boolean | undefined;
  /** Our extension ids (default { ut_metadata: 2 }). */
  readonly extensionIds?: Readonly<Record<string, number>> | undefined;
  /** Put in our extended handshake: our listen port `p`. */
  readonly listenPort?: number | undefined;
  /** Put in our extended handshake: `metadata_size` when we have the info dictionary. */
  readonly metadataSize?: number | undefined;
  /** Put in our extended handshake: `yourip` (the peer's address as we see it, 4 or 16 bytes). */
  readonly yourip?: Uint8Array | undefined;
  /** Largest block we request/serve/accept. */
  readonly maxBlockLength?: number | undefined;
  readonly keepAliveIntervalMs?: number | undefined;
  readonly idleTimeoutMs?: number | undefined;
  readonly handshakeTimeoutMs?: number | undefined;
  readonly snubTimeoutMs?: number | undefined;
  readonly requestTimeoutMs?: number | undefined;
  readonly minPipelineDepth?: number | undefined;
  readonly maxPipelineDepth?: number | undefined;
  readonly targetQueueMs?: number | undefined;
  /** Requests from the peer we queue (advertised as `reqq`). */
  readonly maxIncomingRequests?: number | undefined;
}

export interface ResolvedOptions {
  readonly role: 'initiator' | 'receiver';
  readonly peerId: Uint8Array;
  readonly infohash: Uint8Array | undefined;
  readonly pieceCount: number | undefined;
  readonly dht: boolean;
  readonly dhtPort: number | undefined;
  readonly extensions: boolean;
  readonly extensionIds: Readonly<Record<string, number>>;
  readonly listenPort: number | undefined;
  readonly metadataSize: number | undefined;
  readonly yourip: Uint8Array | undefined;
  readonly maxBlockLength: number;
  readonly keepAliveIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly snubTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly minPipelineDepth: number;
  readonly maxPipelineDepth: number;
  readonly targetQueueMs: number;
  readonly maxIncomingRequests: number;
}

/** Merges defaults; the one place defaults live. */
export function resolveOptions(o: PeerConnectionOptions): ResolvedOptions {
  return {
    role: o.role,
    peerId: o.peerId,
    infohash: o.infohash,
    pieceCount: o.pieceCount,
    dht: o.dht ?? o.dhtPort !== undefined,
    dhtPort: o.dhtPort,
    extensions: o.extensions ?? true,
    extensionIds: o.extensionIds ?? OUR_EXTENSION_IDS,
    listenPort: o.listenPort,
    metadataSize: o.metadataSize,
    yourip: o.yourip,
    maxBlockLength: o.maxBlockLength ?? MAX_BLOCK_LENGTH,
    keepAliveIntervalMs: o.keepAliveIntervalMs ?? KEEP_ALIVE_INTERVAL_MS,
    idleTimeoutMs: o.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    snubTimeoutMs: o.snubTimeoutMs ?? SNUB_TIMEOUT_MS,
    requestTimeoutMs: o.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    minPipelineDepth: o.minPipelineDepth ?? MIN_PIPELINE_DEPTH,
    maxPipelineDepth: o.maxPipelineDepth ?? MAX_PIPELINE_DEPTH,
    targetQueueMs: o.targetQueueMs ?? TARGET_QUEUE_MS,
    maxIncomingRequests: o.maxIncomingRequests ?? MAX_INCOMING_REQUESTS,
  };
}
