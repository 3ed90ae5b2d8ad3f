/**
 * Where peers come from, in the two shapes the project uses:
 *
 * - `PeerSource`: an async iterable of peers for an infohash, ending when `signal` aborts. This is what
 *   MergedPeerSource merges, deduplicates and paces, and what `pipePeers` feeds into a sink such as
 *   `TorrentSession.addPeer`.
 * - `CallbackPeerSource`: `start(onPeer)` / `stop()`, the shape of the DHT source (src/discovery/
 *   dht-source.ts) and of TrackerPeerSource below; it fits the app's PeerSourceStarter directly.
 *   `asPeerSource` turns one into the other (bounded: a consumer that falls behind loses peers, counted).
 */
import type { PeerAddress } from '../codec/compact.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { TrackerSession, type TrackerSessionDeps, type TrackerSessionOptions, type TrackerSessionStats } from '../tracker/tracker-session.js';
import { BoundedQueue } from './bounded-queue.js';

export interface PeerSource {
  /** Short name for logs and events ('tracker', 'dht', 'static'). */
  readonly name: string;
  /** Peers for `infoHash`, ending when the source has no more or `signal` aborts. Never throws on network
   *  trouble (that is counted inside the source); may yield the same peer more than once. */
  peers(infoHash: Uint8Array, signal: AbortSignal): AsyncIterable<PeerAddress>;
}

/** A source that pushes peers to a callback between start and stop (its infohash fixed at construction). */
export interface CallbackPeerSource {
  start(onPeer: (peer: PeerAddress) => void): void;
  stop(): void | Promise<void>;
}

/** Peers a callback source may hold for a slow consumer; more are dropped (the source finds them again). */
export const CALLBACK_SOURCE_QUEUE = 1000;

/**
 * A callback source as a PeerSource: started when iteration starts, stopped (and awaited) when `signal`
 * aborts or the consumer breaks off. The infohash argument is ignored: the source was built for one.
 */
export function asPeerSource(name: string, source: CallbackPeerSource, queueSize = CALLBACK_SOURCE_QUEUE): PeerSource & { dropped(): number } {
  let dropped = 0;
  return {
    name,
    dropped: () => dropped,
    async *peers(_infoHash: Uint8Array, signal: AbortSignal): AsyncIterable<PeerAddress> {
      const queue = new BoundedQueue<PeerAddress>(queueSize);
      source.start((p) => {
        if (!queue.offer({ host: p.host, port: p.port })) dropped++;
      });
      try {
        for (;;) {
          const peer = await queue.take(signal);
          if (peer === undefined) break;
          yield peer;
        }
      } finally {
        queue.close();
        await source.stop();
      }
    },
  };
}

/** A fixed list (--peer, x.pe): yields each once. */
export class StaticPeerSource implements PeerSource {
  readonly name = 'static';
  constructor(private readonly list: readonly PeerAddress[]) {}

  async *peers(_infoHash: Uint8Array, signal: AbortSignal): AsyncIterable<PeerAddress> {
    for (const p of this.list) {
      if (signal.aborted) return;
      yield { host: p.host, port: p.port };
    }
  }
}

/**
 * HTTP trackers for one torrent as a callback source: `start(onPeer)` announces `started` to every tracker
 * (TrackerSession), `completed()` passes on the download's completion, `stop()` announces `stopped`
 * within the session's stop timeout and never rejects. Tracker errors are counted in `stats()`, never
 * thrown: a download the DHT can serve must not stop because a tracker is down.
 */
export class TrackerPeerSource implements CallbackPeerSource {
  private session: TrackerSession | undefined;
  private completeSignalled = false;

  constructor(
    private readonly deps: TrackerSessionDeps,
    private readonly options: Omit<TrackerSessionOptions, 'onPeers'>,
  ) {}

  start(onPeer: (peer: PeerAddress) => void): void {
    if (this.session) return;
    this.session = new TrackerSession(this.deps, {
      ...this.options,
      onPeers: (peers) => {
        for (const p of peers) onPeer(p);
      },
    });
    if (this.completeSignalled) this.session.completed();
    this.session.start();
  }

  /** The download completed: each tracker gets `completed` once (also if called before start). */
  completed(): void {
    this.completeSignalled = true;
    this.session?.completed();
  }

  async stop(): Promise<void> {
    await this.session?.stop();
  }

  /** Counters and per-tracker status; undefined before start. */
  stats(): TrackerSessionStats | undefined {
    return this.session?.stats();
  }
}

/**
 * Feeds every peer of `source` to `sink` (for instance `(p) => handle.addPeer(p)`) until the source ends
 * or `signal` aborts. Resolves with the number of peers delivered; a throwing source is logged, not thrown.
 */
export async function pipePeers(
  source: PeerSource,
  infoHash: Uint8Array,
  sink: (peer: PeerAddress) => void,
  signal: AbortSignal,
  log?: Logger,
): Promise<number> {
  let delivered = 0;
  try {
    for await (const peer of source.peers(infoHash, signal)) {
      sink(peer);
      delivered++;
      if (signal.aborted) break;
    }
  } catch (err) {
    log?.warn('peer source failed', { source: source.name, error: errorMessage(err) });
  }
  return delivered;
}
