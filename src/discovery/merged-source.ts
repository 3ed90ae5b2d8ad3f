/**
 * Several PeerSources as one: each source is drained by its own loop into a bounded queue (a fast source
 * waits, it is never buffered without bound), peers are deduplicated by host:port against a bounded
 * seen-set, optionally filtered (`accept`, e.g. isAcceptableAddress with --allow-local), and delivered at a
 * paced rate: a burst, then one per `paceMs`, so a tracker reply of 200 peers does not arrive as 200 dials
 * in one tick (the session's dialer paces too, this keeps its queue short).
 *
 * A source that throws is logged and counted; the others go on. The merged iterable ends when every
 * source has ended, or when `signal` aborts.
 */
import type { PeerAddress } from '../codec/compact.js';
import { sleep, type Clock } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { BoundedQueue } from './bounded-queue.js';
import type { PeerSource } from './peer-source.js';

/** Addresses remembered for deduplication; the oldest is forgotten first. 10,000 host:port keys are
 *  about 1 MB, and a swarm we could use is far smaller. */
export const MAX_SEEN_PEERS = 10_000;
/** Peers buffered between the sources and the consumer. */
export const MERGE_QUEUE_SIZE = 256;
/** Peers delivered at once before pacing starts (a session connects at most MAX_PEERS = 50 anyway). */
export const PACE_BURST = 50;
/** Then one peer per this many ms: 20 per second keeps the dial queue moving without flooding it. */
export const PACE_INTERVAL_MS = 50;

/** A peer with the name of the source that found it first. */
export interface DiscoveredPeer extends PeerAddress {
  source: string;
}

export interface MergedSourceDeps {
  clock: Clock;
  log: Logger;
}

export interface MergedSourceOptions {
  sources: readonly PeerSource[];
  maxSeen?: number;
  queueSize?: number;
  burst?: number;
  paceMs?: number;
  /** Peers for which this is false are dropped (and counted). */
  accept?: (peer: PeerAddress) => boolean;
}

export interface MergedSourceStats {
  received: number;
  delivered: number;
  duplicates: number;
  rejected: number;
  sourceErrors: number;
  /** Delivered peers by source name. */
  bySource: Record<string, number>;
}

function peerKey(p: PeerAddress): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
}

export class MergedPeerSource implements PeerSource {
  readonly name = 'merged';
  private readonly seen = new Set<string>();
  private readonly counters = { received: 0, delivered: 0, duplicates: 0, rejected: 0, sourceErrors: 0 };
  private readonly bySource: Record<string, number> = {};

  constructor(
    private readonly deps: MergedSourceDeps,
    private readonly opts: MergedSourceOptions,
  ) {}

  async *peers(infoHash: Uint8Array, signal: AbortSignal): AsyncGenerator<DiscoveredPeer> {
    const queue = new BoundedQueue<DiscoveredPeer>(this.opts.queueSize ?? MERGE_QUEUE_SIZE);
    // Our own controller, so that a consumer that stops early also stops the source loops.
    const inner = new AbortController();
    const onAbort = (): void => inner.abort(signal.reason);
    if (signal.aborted) inner.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });

    let running = this.opts.sources.length;
    const loops = this.opts.sources.map(async (source) => {
      try {
        for await (const p of source.peers(infoHash, inner.signal)) {
          if (!(await queue.put({ host: p.host, port: p.port, source: source.name }, inner.signal))) break;
        }
      } catch (err) {
        if (!inner.signal.aborted) {
          this.counters.sourceErrors++;
          this.deps.log.warn('peer source failed', { source: source.name, error: errorMessage(err) });
        }
      } finally {
        if (--running === 0) queue.close();
      }
    });
    if (running === 0) queue.close();

    const burst = this.opts.burst ?? PACE_BURST;
    const paceMs = this.opts.paceMs ?? PACE_INTERVAL_MS;
    let tokens = burst;
    let refilledAt = this.deps.clock.now();
    try {
      for (;;) {
        const peer = await queue.take(inner.signal);
        if (peer === undefined) break;
        this.counters.received++;
        const key = peerKey(peer);
        if (this.seen.has(key)) {
          this.counters.duplicates++;
          continue;
        }
        if (this.opts.accept && !this.opts.accept(peer)) {
          this.counters.rejected++;
          continue;
        }
        this.remember(key);
        // Token bucket: `burst` peers at once, then one per paceMs.
        const now = this.deps.clock.now();
        if (paceMs > 0) {
          tokens = Math.min(burst, tokens + (now - refilledAt) / paceMs);
          refilledAt = now;
          if (tokens < 1) {
            await sleep(this.deps.clock, Math.ceil((1 - tokens) * paceMs), inner.signal).catch(() => undefined);
            if (inner.signal.aborted) break;
            tokens = 1;
            refilledAt = this.deps.clock.now();
          }
          tokens--;
        }
        this.counters.delivered++;
        this.bySource[peer.source] = (this.bySource[peer.source] ?? 0) + 1;
        yield peer;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      inner.abort(new Error('merged peer source closed'));
      queue.close();
      // Let sources finish their own shutdown (a tracker's `stopped` announce is bounded by its timeout).
      await Promise.allSettled(loops);
    }
  }

  stats(): MergedSourceStats {
    return { ...this.counters, bySource: { ...this.bySource } };
  }

  private remember(key: string): void {
    this.seen.add(key);
    if (this.seen.size > (this.opts.maxSeen ?? MAX_SEEN_PEERS)) {
      // Sets iterate in insertion order: the first key is the oldest.
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
