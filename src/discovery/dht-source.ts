/**
 * The DHT as a peer source for one torrent (BEP 5 get_peers / announce_peer). A get_peers lookup starts at
 * once (from the routing table, or straight from the bootstrap nodes when the table is still empty, so
 * the first peers arrive without waiting for a join), peers are delivered as each reply brings them, and
 * the lookup is repeated while the caller still wants peers, never two at once (sooner after one that
 * found nobody). When we listen, our port is announced to the closest nodes with the tokens the lookup
 * just collected; while seeding that is redone every 15 minutes (tokens live 5-10 minutes, so each
 * announce needs a fresh lookup).
 */
import type { PeerAddress } from '../codec/compact.js';
import type { DhtNode } from '../dht/node.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';

/** How often the lookup is repeated while peers are wanted (the issue asks for "every few minutes"). */
export const DHT_RELOOKUP_MS = 3 * 60_000;
/** BEP 5 peers expire from other nodes' stores after about 30 minutes; libtorrent re-announces every 15. */
export const DHT_REANNOUNCE_MS = 15 * 60_000;
/** Deadline of one lookup. */
const LOOKUP_TIMEOUT_MS = 30_000;
/**
 * After a lookup that found no peer, the next comes this soon, then twice as late each time, up to the
 * usual interval: a young network (a bootstrap node still verifying its pool, a seeder announcing as we
 * start) often has the peers a moment later, and the person waiting should not wait the full interval.
 */
export const EMPTY_RETRY_FIRST_MS = 500;

export interface DhtSourceOptions {
  infoHash: Uint8Array;
  /** Our TCP listen port to announce; undefined announces nothing. */
  announcePort?: number | undefined;
  relookupMs?: number;
  reannounceMs?: number;
  /** Told after each announce round: how many nodes, over every family, accepted it. */
  onAnnounced?: (nodes: number) => void;
}

export interface DhtSourceStats {
  lookups: number;
  peersFound: number;
  announces: number;
  announcedTo: number;
}

export class DhtPeerSource {
  readonly stats: DhtSourceStats = { lookups: 0, peersFound: 0, announces: 0, announcedTo: 0 };
  private running = false;
  private lookupInProgress = false;
  /** A lookup was asked for while one ran: the next starts as soon as it ends. */
  private again = false;
  private wantPeers = true;
  private timer: TimerHandle | undefined;
  private lastAnnounceAt = -Infinity;
  /** Peers the running (or last) lookup brought. */
  private peersThisLookup = 0;
  /** The wait after the next lookup that finds no peer (EMPTY_RETRY_FIRST_MS, doubling). */
  private emptyRetryMs = EMPTY_RETRY_FIRST_MS;
  private readonly abort = new AbortController();
  private onPeer: (peer: PeerAddress) => void = () => undefined;

  constructor(
    /** One node per address family (BEP 32); each is searched and announced to. */
    private readonly deps: { nodes: readonly DhtNode[]; clock: Clock; log?: Logger },
    private readonly options: DhtSourceOptions,
  ) {}

  private get log(): Logger {
    return this.deps.log ?? silentLogger;
  }

  /** Starts looking; `onPeer` is called for each new peer (duplicates within a lookup are filtered). */
  start(onPeer: (peer: PeerAddress) => void): void {
    if (this.running) return;
    this.running = true;
    this.onPeer = onPeer;
    this.cycle();
  }

  /** Whether more peers are wanted (a finished download that only seeds wants none, but still announces). */
  setWantPeers(want: boolean): void {
    this.wantPeers = want;
  }

  /**
   * Runs a lookup now, or right after the current one if one is running (never two at once), instead of
   * at the next scheduled time: for when the node learns of better places to start, such as saved
   * contacts that arrive after the first lookup left from the bootstrap list alone.
   */
  lookSoon(): void {
    if (!this.running) return;
    if (this.lookupInProgress) {
      this.again = true;
      return;
    }
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.cycle();
  }

  stop(): void {
    this.running = false;
    this.abort.abort();
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.running) return;
    const { relookupMs = DHT_RELOOKUP_MS, reannounceMs = DHT_REANNOUNCE_MS } = this.options;
    const announcing = this.options.announcePort !== undefined;
    let delay = this.wantPeers ? relookupMs : announcing ? reannounceMs : undefined;
    if (delay === undefined) return;
    if (this.wantPeers && this.peersThisLookup === 0) {
      delay = Math.min(delay, this.emptyRetryMs);
      this.emptyRetryMs *= 2;
    } else {
      this.emptyRetryMs = EMPTY_RETRY_FIRST_MS;
    }
    this.timer = this.deps.clock.setTimeout(() => this.cycle(), delay);
  }

  private cycle(): void {
    if (!this.running || this.lookupInProgress) return;
    this.lookupInProgress = true;
    this.runOnce()
      .catch((err: unknown) => this.log.debug('dht lookup failed', { err: errorMessage(err) }))
      .finally(() => {
        this.lookupInProgress = false;
        if (this.again) {
          this.again = false;
          this.cycle();
        } else {
          this.schedule();
        }
      });
  }

  private async runOnce(): Promise<void> {
    this.stats.lookups++;
    this.peersThisLookup = 0;
    const now = this.deps.clock.now();
    const announce =
      this.options.announcePort !== undefined && now - this.lastAnnounceAt >= (this.options.reannounceMs ?? DHT_REANNOUNCE_MS) - LOOKUP_TIMEOUT_MS;
    if (announce) this.lastAnnounceAt = now;
    const seen = new Set<string>();
    const before = this.stats.announcedTo;
    await Promise.all(this.deps.nodes.map((node) => this.searchOne(node, seen, announce)));
    if (announce && this.running) this.options.onAnnounced?.(this.stats.announcedTo - before);
  }

  private async searchOne(node: DhtNode, seen: Set<string>, announce: boolean): Promise<void> {
    const events = node.lookup(this.options.infoHash, { getPeers: true, timeoutMs: LOOKUP_TIMEOUT_MS, signal: this.abort.signal });
    for await (const e of events) {
      if (e.type === 'peer') {
        const key = `${e.peer.host}/${e.peer.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.stats.peersFound++;
        this.peersThisLookup++;
        this.onPeer(e.peer);
      } else if (e.type === 'done') {
        const { queries, responses, failures, unanswered, peers, ms, outcome } = e.summary;
        this.log.debug('dht lookup done', { family: node.family, queries, responses, failures, unanswered, peers, ms, outcome });
      }
      if (e.type === 'done' && announce && this.running && e.summary.closest.length > 0) {
        const r = await node.announce(this.options.infoHash, e.summary.closest, this.options.announcePort, this.abort.signal);
        this.stats.announces++;
        this.stats.announcedTo += r.ok;
      }
    }
  }
}
