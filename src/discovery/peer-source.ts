/**
 * Where peers come from. A PeerSource is anything that can produce peer addresses for an infohash as an
 * async iterable: a tracker session (below), a DHT get_peers lookup (`DhtNode.lookup(infoHash, {getPeers:
 * true})` filtered to its `{type:'peer'}` events, repeated as the lead sees fit), a fixed `--peer` list.
 * Sources may repeat themselves; MergedPeerSource removes duplicates and paces delivery. `pipePeers` feeds
 * any source into a sink such as `TorrentSession.addPeer`.
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

/** Peers a tracker source holds for a slow consumer; more are dropped (the tracker gives more next time). */
export const TRACKER_SOURCE_QUEUE = 1000;

/** A fixed list (--peer): yields each once. */
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
 * HTTP trackers as a PeerSource: `peers()` starts a TrackerSession for the infohash (announce `started`)
 * and yields what the trackers return until `signal` aborts, then announces `stopped` (bounded by the
 * session's stop timeout) before the iterable ends. `completed()` forwards the download's completion.
 */
export class TrackerPeerSource implements PeerSource {
  readonly name = 'tracker';
  private readonly sessions = new Set<TrackerSession>();
  private completeSignalled = false;

  constructor(
    private readonly deps: TrackerSessionDeps,
    private readonly options: Omit<TrackerSessionOptions, 'infoHash' | 'onPeers'> & { queueSize?: number },
  ) {}

  async *peers(infoHash: Uint8Array, signal: AbortSignal): AsyncIterable<PeerAddress> {
    const queue = new BoundedQueue<PeerAddress>(this.options.queueSize ?? TRACKER_SOURCE_QUEUE);
    const session = new TrackerSession(this.deps, {
      ...this.options,
      infoHash,
      onPeers: (peers) => {
        for (const p of peers) queue.offer(p);
      },
    });
    this.sessions.add(session);
    if (this.completeSignalled) session.completed();
    session.start();
    try {
      for (;;) {
        const peer = await queue.take(signal);
        if (peer === undefined) break;
        yield peer;
      }
    } finally {
      this.sessions.delete(session);
      queue.close();
      await session.stop();
    }
  }

  /** The download completed: each running session sends `completed` once. */
  completed(): void {
    this.completeSignalled = true;
    for (const s of this.sessions) s.completed();
  }

  /** Stats of the running sessions (one per `peers()` call in progress). */
  stats(): TrackerSessionStats[] {
    return [...this.sessions].map((s) => s.stats());
  }
}

/**
 * Feeds every peer of `source` to `sink` (for instance `(p) => session.addPeer(p)`) until the source ends
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
      if (signal.aborted) break;
      sink(peer);
      delivered++;
    }
  } catch (err) {
    log?.warn('peer source failed', { source: source.name, error: errorMessage(err) });
  }
  return delivered;
}
