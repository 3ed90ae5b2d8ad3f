/**
 * Composition root for `download` (and the swarm runner `seed` shares): builds the system clock, random,
 * TCP listener and dialer, file storage and the torrent session; feeds it peers; reports progress and
 * stats once a second; and settles with an outcome the CLI maps to an exit code.
 *
 * Extension point: anything that finds peers (the DHT, a tracker) calls `handle.addPeer(endpoint)` on the
 * running swarm (see SwarmHandle), exactly as --peer addresses are fed in.
 */
import { readFile } from 'node:fs/promises';
import { formatMagnet, type MagnetLink } from '../codec/magnet.js';
import { MAX_TORRENT_BYTES, parseMetainfo, type InfoDictionary, type Metainfo } from '../codec/metainfo.js';
import { dialTcp, listenTcp, type TcpListener } from '../net/tcp.js';
import type { FileStorage } from '../storage/file-storage.js';
import type { PieceStorage } from '../storage/piece-storage.js';
import type { PeerEndpoint } from '../swarm/peer-queue.js';
import type { SessionProgress, SessionStats, TorrentSession, TorrentSessionOptions } from '../swarm/torrent-session.js';
import { toHex } from '../util/bytes.js';
import { sleep, SystemClock, type Clock } from '../util/clock.js';
import { DecodeError, DhtNodeError, errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { SystemRandom } from '../util/random.js';

/**
 * The swarm's code (session, picker, choker, peer pipeline, storage), imported when first needed rather
 * than at start-up: a magnet download starts loading it once its search is under way, so the compiling
 * overlaps the wait for the DHT and the metadata instead of delaying the first query.
 */
export async function loadSwarmCode(): Promise<{ TorrentSession: typeof TorrentSession; FileStorage: typeof FileStorage }> {
  const [session, storage] = await Promise.all([import('../swarm/torrent-session.js'), import('../storage/file-storage.js')]);
  return { TorrentSession: session.TorrentSession, FileStorage: storage.FileStorage };
}

/** CLI.md: progress and stats "about once a second". */
export const REPORT_INTERVAL_MS = 1000;

/**
 * A failure with the exit class the CLI maps: `usage` (exit 2: bad input), `gave-up` (exit 3: --timeout),
 * `runtime` (exit 1).
 */
export class SwarmAppError extends DhtNodeError {
  constructor(code: string, message: string, readonly kind: 'usage' | 'gave-up' | 'runtime', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Receives the events of CLI.md (`ready`, `metadata`, `progress`, `complete`, `stats`) as they happen. */
export type EventSink = (event: string, fields: Record<string, unknown>) => void;

export interface SwarmParams {
  /** Where the torrent's files live. */
  out: string;
  peers: readonly PeerEndpoint[];
  /** TCP port, 0 = any free one. */
  port: number;
  bind?: string | undefined;
  uploadLimit: number;
  downloadLimit: number;
  log: Logger;
  onEvent: EventSink;
  /** Aborted on SIGINT/SIGTERM: a last `stats` with final:true is emitted, then the run ends. */
  signal: AbortSignal;
  /**
   * Extension point for peer discovery (the DHT, trackers): each is started once the swarm listens and its
   * data is checked, feeds addresses through `handle.addPeer`, and may return a cleanup that runs before
   * the swarm closes.
   */
  peerSources?: readonly PeerSourceStarter[] | undefined;
  /** Options for every peer connection (e.g. our DHT port for BEP 5 PORT messages). */
  peerOptions?: TorrentSessionOptions['peerOptions'];
  /** Fields added to the `ready` event (the DHT's port and node id). */
  readyFields?: Record<string, unknown>;
}

/** Starts a peer source for a running swarm; see SwarmParams.peerSources. */
export type PeerSourceStarter = (handle: SwarmHandle, signal: AbortSignal) => (() => Promise<void>) | undefined | void;

/** What to download: a .torrent file, or a magnet link / infohash whose metadata must come from peers. */
export type DownloadSource = { kind: 'torrent'; path: string } | { kind: 'magnet'; magnet: MagnetLink; findMetadata: MetadataFinder };

/**
 * Fetches the info dictionary for a magnet link (app/magnet.ts); rejects when `signal` aborts. `tcpPort`
 * is where we already listen, for announces made while searching.
 */
export type MetadataFinder = (signal: AbortSignal, tcpPort: number) => Promise<{ info: InfoDictionary; peers: PeerEndpoint[] }>;

export interface DownloadParams extends SwarmParams {
  source: DownloadSource;
  seedAfter: boolean;
  /** Give up (exit 3) when not complete by then, metadata phase included. */
  timeoutMs?: number | undefined;
}

/** How a run ended: `complete` (exit 0), or a SwarmAppError thrown. */
export interface RunOutcome {
  complete: boolean;
  stats: SessionStats;
}

/** A running swarm, for extensions that find peers (DHT, trackers). */
export interface SwarmHandle {
  readonly session: TorrentSession;
  readonly info: InfoDictionary;
  readonly tcpPort: number;
  /** Queues a peer address (bounded, deduplicated, paced; banned addresses are refused). */
  addPeer(endpoint: PeerEndpoint): boolean;
}

/** Reads and parses a .torrent; a missing or malformed file is a usage error (exit 2). */
export async function loadTorrent(path: string): Promise<Metainfo> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new SwarmAppError('torrent_unreadable', `cannot read ${path}: ${errorMessage(err)}`, 'usage', { cause: err });
  }
  if (bytes.length > MAX_TORRENT_BYTES) throw new SwarmAppError('torrent_too_large', `${path} is not a torrent (too large)`, 'usage');
  try {
    return parseMetainfo(bytes);
  } catch (err) {
    if (err instanceof DecodeError) throw new SwarmAppError(err.code, `${path}: ${err.message}`, 'usage', { cause: err });
    throw err;
  }
}

/**
 * The TCP listener, opened before the swarm exists: a magnet download listens from the start, so it can
 * announce a real port to trackers while it still fetches the metadata. Connections that arrive before
 * the swarm is attached are closed (we have nothing to offer them yet).
 */
export class EarlyListener {
  private run: SwarmRun | undefined;
  private constructor(readonly listener: TcpListener) {}

  static async open(params: Pick<SwarmParams, 'bind' | 'port' | 'log'>): Promise<EarlyListener> {
    let early: EarlyListener | undefined;
    try {
      const encryption = {
        clock: new SystemClock(),
        random: new SystemRandom(),
        // MSE/PE openings (libtorrent's and Transmission's default first try) are answered for our torrent
        // once a run is attached; before that (metadata phase) they are refused like any connection.
        infohashes: () => (early?.run === undefined ? [] : [early.run.info.infoHash]),
        onRefused: (err: Error, remote: { host: string; port: number }) =>
          params.log.debug('encrypted connection refused', { error: err.message, peer: `${remote.host}:${remote.port}` }),
      };
      const listener = await listenTcp({ host: params.bind, port: params.port, encryption }, (stream, remote) => {
        if (early?.run === undefined) stream.destroy();
        else early.run.session.acceptInbound(stream, remote);
      });
      early = new EarlyListener(listener);
      return early;
    } catch (err) {
      throw new SwarmAppError(errorCode(err) ?? 'tcp_listen', errorMessage(err), 'runtime', { cause: err });
    }
  }

  attach(run: SwarmRun): void {
    this.run = run;
  }
}

/** Everything a swarm run holds, opened in order and closed in reverse. */
export class SwarmRun implements SwarmHandle {
  readonly clock: Clock = new SystemClock();
  readonly session: TorrentSession;
  readonly startedAt: number;
  private listener: TcpListener | undefined;
  private fatal: Error | undefined;
  private readonly cleanups: Array<() => Promise<void>> = [];
  /** Aborts the current one-second wait, so the loop re-checks its condition at once. */
  private waker = new AbortController();

  private constructor(
    Session: typeof TorrentSession,
    readonly info: InfoDictionary,
    readonly storage: PieceStorage,
    private readonly params: SwarmParams,
    listenPort: number | undefined,
    options: { leech: boolean },
  ) {
    this.startedAt = this.clock.now();
    this.session = new Session(
      {
        clock: this.clock, random: new SystemRandom(), log: params.log, storage,
        dial: (endpoint, signal) => dialTcp({ clock: this.clock }, { ...endpoint, localAddress: params.bind, signal }),
      },
      { info, listenPort, uploadLimit: params.uploadLimit, downloadLimit: params.downloadLimit, leech: options.leech, peerOptions: params.peerOptions },
    );
    this.session.on('error', (err) => {
      this.fatal = err;
      this.wake();
    });
  }

  /** Opens the listener, then the session (which runs the resume check). */
  static async open(info: InfoDictionary, storage: PieceStorage, params: SwarmParams, options: { leech: boolean }, early?: EarlyListener): Promise<SwarmRun> {
    const { TorrentSession: Session } = await loadSwarmCode();
    const port = early ?? (await EarlyListener.open(params));
    const run = new SwarmRun(Session, info, storage, params, port.listener.port, options);
    run.listener = port.listener;
    port.attach(run);
    // A signal during the resume check (which reads every byte already on disk) ends it at once.
    const stop = (): void => void run?.session.close();
    params.signal.addEventListener('abort', stop, { once: true });
    try {
      if (params.signal.aborted) throw new Error('interrupted');
      await run.session.start();
    } catch (err) {
      await run.close();
      if (params.signal.aborted) throw new SwarmAppError('interrupted', 'stopped while checking existing data', 'runtime', { cause: err });
      throw new SwarmAppError(errorCode(err) ?? 'storage_io', `checking existing data failed: ${errorMessage(err)}`, 'runtime', { cause: err });
    } finally {
      params.signal.removeEventListener('abort', stop);
    }
    return run;
  }

  get tcpPort(): number {
    return this.listener?.port ?? 0;
  }

  get infohash(): string {
    return toHex(this.info.infoHash);
  }

  get magnet(): string {
    return formatMagnet(this.info.infoHash, { name: this.info.name });
  }

  addPeer(endpoint: PeerEndpoint): boolean {
    return this.session.addPeer(endpoint);
  }

  /** Starts the peer sources of SwarmParams.peerSources and the given --peer addresses. */
  startPeers(): void {
    for (const p of this.params.peers) this.addPeer(p);
    for (const start of this.params.peerSources ?? []) {
      const cleanup = start(this, this.params.signal);
      if (typeof cleanup === 'function') this.cleanups.push(cleanup);
    }
  }

  /** Makes the loop check its stop condition now rather than at the next report. */
  wake(): void {
    this.waker.abort();
  }

  /** Milliseconds since the run began. */
  elapsed(): number {
    return Math.round(this.clock.now() - this.startedAt);
  }

  progress(): SessionProgress {
    return this.session.progress();
  }

  /**
   * Reports once a second until `until()` says stop, the signal aborts, or the session fails. Returns why it
   * stopped. `onTick` runs after each report.
   */
  async loop(until: () => boolean, onTick?: () => void): Promise<'done' | 'signal' | 'failed'> {
    for (;;) {
      if (this.fatal !== undefined) return 'failed';
      if (this.params.signal.aborted) return 'signal';
      if (until()) return 'done';
      const wait = AbortSignal.any([this.params.signal, this.waker.signal]);
      try {
        await sleep(this.clock, REPORT_INTERVAL_MS, wait);
      } catch {
        if (this.params.signal.aborted) return 'signal';
        this.waker = new AbortController();
        continue;
      }
      this.report();
      onTick?.();
    }
  }

  /** Emits `progress` and `stats` (CLI.md). */
  report(final = false): void {
    const p = this.session.progress();
    const s = this.session.stats();
    if (!final) {
      this.params.onEvent('progress', { have: p.have, pieces: p.pieces, down: Math.round(p.down), up: Math.round(p.up), peers: p.peers, bytes: p.bytesHave, total: p.bytesTotal });
    }
    this.params.onEvent('stats', final ? { uploaded: s.uploaded, downloaded: s.downloaded, final: true, peers: s.peers, hashFailures: s.hashFailures, bans: s.bans } : { uploaded: s.uploaded, downloaded: s.downloaded });
  }

  /** The session's fatal error, mapped for the CLI. */
  failure(): SwarmAppError {
    const err = this.fatal ?? new Error('unknown failure');
    return new SwarmAppError(errorCode(err) ?? 'runtime', errorMessage(err), 'runtime', { cause: err });
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.splice(0)) await c().catch(() => undefined);
    await this.session.close();
    await this.listener?.close();
    await this.storage.close().catch(() => undefined);
  }
}

/**
 * The metadata phase of a magnet download: the info dictionary from peers, within the caller's deadline.
 * Exit 3 (gave up) when it does not come in time.
 */
async function metadataFromPeers(
  source: Extract<DownloadSource, { kind: 'magnet' }>,
  params: DownloadParams,
  tcpPort: number,
  clock: Clock,
  started: number,
): Promise<{ info: InfoDictionary; peers: PeerEndpoint[] }> {
  const deadline = params.timeoutMs === undefined ? undefined : AbortSignal.any([params.signal, timeoutSignal(clock, params.timeoutMs)]);
  try {
    return await source.findMetadata(deadline ?? params.signal, tcpPort);
  } catch (err) {
    if (params.signal.aborted) throw new SwarmAppError('interrupted', 'stopped while fetching metadata', 'runtime', { cause: err });
    if (deadline?.aborted) {
      throw new SwarmAppError('no_metadata', `no peer gave us the metadata of ${toHex(source.magnet.infoHash)} within ${Math.round((clock.now() - started) / 1000)} s`, 'gave-up', { cause: err });
    }
    throw new SwarmAppError(errorCode(err) ?? 'metadata_failed', errorMessage(err), 'runtime', { cause: err });
  }
}

/** An AbortSignal that fires after `ms` on the given clock. */
function timeoutSignal(clock: Clock, ms: number): AbortSignal {
  const c = new AbortController();
  clock.setTimeout(() => c.abort(new Error('timeout')), ms);
  return c.signal;
}

/** `download <file.torrent|magnet>`: fetch, verify, optionally keep seeding. Resolves when done; throws SwarmAppError. */
export async function runDownload(params: DownloadParams): Promise<RunOutcome> {
  const clock = new SystemClock();
  const started = clock.now();
  let info: InfoDictionary;
  let found: PeerEndpoint[] = [];
  let early: EarlyListener | undefined;
  if (params.source.kind === 'torrent') {
    info = await loadTorrent(params.source.path);
    params.onEvent('metadata', { infohash: toHex(info.infoHash), name: info.name, bytes: info.totalLength, pieces: info.pieceCount, ms: 0 });
  } else {
    early = await EarlyListener.open(params);
    // Started now, awaited after the metadata; a failure shows there (this copy is only kept from being unhandled).
    loadSwarmCode().catch(() => undefined);
    params.onEvent('searching', { infohash: toHex(params.source.magnet.infoHash), tcpPort: early.listener.port });
    try {
      const got = await metadataFromPeers(params.source, params, early.listener.port, clock, started);
      info = got.info;
      found = got.peers;
    } catch (err) {
      await early.listener.close();
      throw err;
    }
    params.onEvent('metadata', { infohash: toHex(info.infoHash), name: info.name, bytes: info.totalLength, pieces: info.pieceCount, ms: Math.round(clock.now() - started), peers: found.length });
  }
  const metainfo = info;
  const { FileStorage } = await loadSwarmCode().catch(async (err: unknown) => {
    await early?.listener.close();
    throw err;
  });
  let storage: FileStorage;
  try {
    storage = new FileStorage({ log: params.log }, { root: params.out, layout: metainfo });
  } catch (err) {
    await early?.listener.close();
    throw new SwarmAppError(errorCode(err) ?? 'storage_path_escape', errorMessage(err), 'usage', { cause: err });
  }
  // The peers that served the metadata are the first to ask for data.
  const run = await SwarmRun.open(metainfo, storage, { ...params, peers: [...found, ...params.peers] }, { leech: true }, early);
  try {
    params.onEvent('ready', { tcpPort: run.tcpPort, ...params.readyFields, infohash: run.infohash, magnet: run.magnet, have: run.progress().have, pieces: metainfo.pieceCount });
    let completeAt: number | undefined;
    const onComplete = (): void => {
      if (completeAt !== undefined) return;
      completeAt = Math.round(clock.now() - started);
      params.onEvent('complete', { ms: completeAt, bytes: metainfo.totalLength, infohash: run.infohash });
      run.wake();
    };
    run.session.on('complete', onComplete);
    if (run.session.isComplete()) onComplete();
    run.startPeers();
    const deadline = params.timeoutMs === undefined ? Infinity : params.timeoutMs;
    let timedOut = false;
    const why = await run.loop(() => {
      if (completeAt !== undefined && !params.seedAfter) return true;
      if (completeAt === undefined && clock.now() - started >= deadline) timedOut = true;
      return timedOut;
    });
    run.report(true);
    if (why === 'failed') throw run.failure();
    const complete = run.session.isComplete();
    if (timedOut) throw new SwarmAppError('timeout', `gave up after ${Math.round(deadline / 1000)} s with ${run.progress().have} of ${metainfo.pieceCount} pieces`, 'gave-up');
    if (!complete) throw new SwarmAppError('interrupted', `stopped with ${run.progress().have} of ${metainfo.pieceCount} pieces verified`, 'runtime');
    return { complete, stats: run.session.stats() };
  } finally {
    await run.close();
  }
}
