/**
 * Fetches a torrent's info dictionary from peers (BEP 9 over BEP 10), given only its infohash: the first
 * step of a magnet download. Peers are dialled as they are found (no waiting for a lookup to finish), up
 * to `maxConnections` at once; pieces are spread over every peer that offers `ut_metadata` and re-asked
 * elsewhere on a reject or a timeout. The assembled dictionary must hash to the infohash; on a mismatch
 * every contributor is dropped, and a peer whose `metadata_size` or pieces contradict the others is
 * closed as a violation. The result is parsed strictly before it is handed on.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { parseInfoDictionary, type InfoDictionary } from '../codec/metainfo.js';
import { PeerConnection } from '../peer/peer-connection.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { DhtNodeError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import { MAX_METADATA_SIZE } from '../wire/extension.js';
import { MetadataAssembler } from '../wire/metadata-assembler.js';
import type { MetadataMessage } from '../wire/metadata.js';
import type { PeerEndpoint } from './peer-queue.js';

/** Peers asked at once: enough that one slow or lying peer does not hold the download up. */
export const METADATA_MAX_CONNECTIONS = 8;
/** A metadata piece not answered within this is asked of another peer. */
export const METADATA_REQUEST_TIMEOUT_MS = 5_000;
/** Metadata pieces in flight per peer (BEP 9 pieces are 16 KiB; most info dictionaries are 1-20). */
const PIECES_PER_PEER = 4;
/** Peers remembered for dialling; past this new ones are ignored. */
const MAX_CANDIDATES = 2_000;
/**
 * Distinct `metadata_size` values we assemble in parallel. Peers that disagree on the size each get their
 * own assembler and the infohash decides; a few sizes are plenty, more is an attack on our memory.
 */
const MAX_DISTINCT_SIZES = 4;

export interface MetadataFetcherDeps {
  clock: Clock;
  random: Random;
  log?: Logger;
  /** Opens a byte stream to a peer (TCP in production, an in-memory pair in tests). */
  dial(peer: PeerEndpoint, signal: AbortSignal): Promise<Duplex>;
}

export interface MetadataFetcherOptions {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  /** Our listen port for the BEP 10 handshake. */
  listenPort?: number;
  maxConnections?: number;
  requestTimeoutMs?: number;
}

export interface FetchedMetadata {
  info: InfoDictionary;
  /** Peers that took part: good first candidates for the download. */
  peers: PeerEndpoint[];
}

export interface MetadataFetcherEvents {
  /** A peer connected and offers metadata of this size. */
  offer: [peer: PeerEndpoint, size: number];
  /** A peer was dropped for lying about or corrupting the metadata. */
  dropped: [peer: PeerEndpoint, reason: string];
}

interface Active {
  peer: PeerEndpoint;
  key: string;
  conn: PeerConnection | undefined;
  /** Piece -> timeout handle. */
  inFlight: Map<number, TimerHandle>;
  /** The metadata size this peer offered; undefined until its BEP 10 handshake. */
  size: number | undefined;
  rejected: Set<number>;
}

export class MetadataFetcher extends EventEmitter<MetadataFetcherEvents> {
  readonly stats = { dialed: 0, connected: 0, dialFailures: 0, piecesReceived: 0, rejects: 0, timeouts: 0, hashMismatches: 0, violations: 0 };
  private readonly deps: MetadataFetcherDeps;
  private readonly log: Logger;
  private readonly maxConnections: number;
  private readonly requestTimeoutMs: number;
  private readonly candidates: PeerEndpoint[] = [];
  private readonly known = new Set<string>();
  private readonly banned = new Set<string>();
  private readonly active = new Map<string, Active>();
  private readonly helpful = new Map<string, PeerEndpoint>();
  /** One assembler per offered size. */
  private readonly assemblers = new Map<number, MetadataAssembler>();
  private readonly abort = new AbortController();
  private result: FetchedMetadata | undefined;
  private settle: { resolve: (r: FetchedMetadata) => void; reject: (e: Error) => void } | undefined;

  constructor(
    deps: MetadataFetcherDeps,
    private readonly options: MetadataFetcherOptions,
  ) {
    super();
    this.deps = deps;
    this.log = deps.log ?? silentLogger;
    this.maxConnections = options.maxConnections ?? METADATA_MAX_CONNECTIONS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? METADATA_REQUEST_TIMEOUT_MS;
  }

  /** Offers a peer; it is dialled at once when a connection slot is free. */
  addPeer(peer: PeerEndpoint): void {
    const key = `${peer.host}:${peer.port}`;
    if (this.known.has(key) || this.known.size >= MAX_CANDIDATES || this.result) return;
    this.known.add(key);
    this.candidates.push(peer);
    this.fill();
  }

  /** Resolves with the verified info dictionary; rejects on abort or close. */
  fetch(signal?: AbortSignal): Promise<FetchedMetadata> {
    if (this.result) return Promise.resolve(this.result);
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      signal?.addEventListener('abort', () => this.fail(new DhtNodeError('metadata_aborted', 'metadata fetch aborted')), { once: true });
      this.fill();
    });
  }

  /** Closes every connection. */
  close(): void {
    this.fail(new DhtNodeError('metadata_closed', 'metadata fetch closed'));
  }

  private fail(err: Error): void {
    this.abort.abort();
    for (const a of this.active.values()) this.drop(a, undefined);
    this.settle?.reject(err);
    this.settle = undefined;
  }

  private fill(): void {
    while (!this.result && !this.abort.signal.aborted && this.active.size < this.maxConnections && this.candidates.length > 0) {
      const peer = this.candidates.shift() as PeerEndpoint;
      this.connect(peer);
    }
  }

  private connect(peer: PeerEndpoint): void {
    const key = `${peer.host}:${peer.port}`;
    const a: Active = { peer, key, conn: undefined, inFlight: new Map(), size: undefined, rejected: new Set() };
    this.active.set(key, a);
    this.stats.dialed++;
    this.deps.dial(peer, this.abort.signal).then(
      (stream) => {
        if (this.result || this.abort.signal.aborted || !this.active.has(key)) {
          stream.destroy();
          return;
        }
        this.stats.connected++;
        this.attach(a, stream);
      },
      (err: unknown) => {
        this.stats.dialFailures++;
        this.log.debug('metadata peer unreachable', { peer: key, err: errorMessage(err) });
        this.active.delete(key);
        this.fill();
      },
    );
  }

  private attach(a: Active, stream: Duplex): void {
    const conn = new PeerConnection(
      { clock: this.deps.clock, random: this.deps.random, log: this.log, stream },
      {
        role: 'initiator',
        peerId: this.options.peerId,
        infohash: this.options.infoHash,
        extensions: true,
        dht: true,
        ...(this.options.listenPort !== undefined ? { listenPort: this.options.listenPort } : {}),
      },
    );
    a.conn = conn;
    conn.on('extended-handshake', (h) => {
      const size = h.metadataSize;
      if (size === undefined || size < 1 || size > MAX_METADATA_SIZE || !h.m.get('ut_metadata')) return;
      if (!this.assemblers.has(size)) {
        if (this.assemblers.size >= MAX_DISTINCT_SIZES) return;
        this.assemblers.set(size, new MetadataAssembler({ infohash: this.options.infoHash, metadataSize: size }));
      }
      a.size = size;
      this.emit('offer', a.peer, size);
      this.request(a);
    });
    conn.on('metadata', (m) => this.onMetadata(a, m));
    conn.on('close', () => {
      this.forget(a);
      this.fill();
      this.requestAll();
    });
    conn.start();
  }

  private onMetadata(a: Active, m: MetadataMessage): void {
    if (m.type === 'request') {
      a.conn?.serveMetadata(undefined, m.piece); // we have nothing to give yet: BEP 9 reject
      return;
    }
    const timer = a.inFlight.get(m.piece);
    if (timer) this.deps.clock.clearTimeout(timer);
    a.inFlight.delete(m.piece);
    if (m.type === 'reject') {
      this.stats.rejects++;
      a.rejected.add(m.piece);
      this.requestAll();
      return;
    }
    const assembler = a.size === undefined ? undefined : this.assemblers.get(a.size);
    if (!assembler || assembler.complete) return;
    let result;
    try {
      result = assembler.accept(m.piece, m.totalSize, m.data, a.key);
    } catch (err) {
      this.stats.violations++;
      this.drop(a, `metadata violation: ${errorMessage(err)}`);
      return;
    }
    this.stats.piecesReceived++;
    this.helpful.set(a.key, a.peer);
    if (result.status === 'complete') return this.complete(result.info);
    if (result.status === 'hash_mismatch') {
      this.stats.hashMismatches++;
      for (const key of result.contributors) {
        const bad = this.active.get(key);
        this.banned.add(key);
        this.helpful.delete(key);
        if (bad) this.drop(bad, 'metadata did not hash to the infohash');
      }
    }
    this.requestAll();
  }

  private complete(infoBytes: Uint8Array): void {
    let info: InfoDictionary;
    try {
      info = parseInfoDictionary(infoBytes, { expectedInfoHash: this.options.infoHash });
    } catch (err) {
      // It hashed right, so every peer sent what the torrent's creator made: the torrent itself is bad.
      this.fail(new DhtNodeError('metadata_invalid', `the torrent's info dictionary is invalid: ${errorMessage(err)}`));
      return;
    }
    const peers = [...this.helpful.values()];
    for (const a of this.active.values()) if (a.size === infoBytes.length && !this.helpful.has(a.key)) peers.push(a.peer);
    this.result = { info, peers };
    this.abort.abort();
    for (const a of [...this.active.values()]) this.drop(a, undefined);
    this.settle?.resolve(this.result);
    this.settle = undefined;
  }

  private requestAll(): void {
    for (const a of this.active.values()) this.request(a);
  }

  /** Keeps up to PIECES_PER_PEER pieces in flight to `a`, spreading pieces over peers. */
  private request(a: Active): void {
    const assembler = a.size === undefined ? undefined : this.assemblers.get(a.size);
    if (!assembler || assembler.complete || !a.conn) return;
    const taken = new Set<number>();
    for (const other of this.active.values()) if (other.size === a.size) for (const p of other.inFlight.keys()) taken.add(p);
    while (a.inFlight.size < PIECES_PER_PEER) {
      let piece = assembler.missing().find((p) => !taken.has(p) && !a.rejected.has(p));
      // Every missing piece is already asked for elsewhere: ask this peer too (endgame for metadata).
      piece ??= assembler.missing().find((p) => !a.inFlight.has(p) && !a.rejected.has(p));
      if (piece === undefined) return;
      if (!a.conn.requestMetadata(piece)) return;
      taken.add(piece);
      const p = piece;
      a.inFlight.set(p, this.deps.clock.setTimeout(() => {
        a.inFlight.delete(p);
        a.rejected.add(p);
        this.stats.timeouts++;
        this.requestAll();
      }, this.requestTimeoutMs));
    }
  }

  private forget(a: Active): void {
    for (const t of a.inFlight.values()) this.deps.clock.clearTimeout(t);
    a.inFlight.clear();
    this.active.delete(a.key);
  }

  private drop(a: Active, violation: string | undefined): void {
    this.forget(a);
    if (violation) {
      this.banned.add(a.key);
      this.emit('dropped', a.peer, violation);
      a.conn?.close('metadata_violation', violation, true);
    } else {
      a.conn?.close('metadata_done', 'metadata fetch finished');
    }
  }
}
