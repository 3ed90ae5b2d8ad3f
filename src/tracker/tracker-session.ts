/**
 * Announces one torrent to its HTTP trackers for as long as it runs: `started` at once, then again at the
 * tracker's interval (never sooner than its `min interval`), `completed` once when the download completes,
 * `stopped` on shutdown within a bounded time. Failures back off exponentially with jitter.
 *
 * Policy: tracker errors never reach the caller. A download the DHT can serve must not stop because a
 * tracker is down, so every failure is counted by code, logged, and retried later; peers come out through
 * `onPeers`. Each tracker of the list is announced to independently (no BEP 12 tier fail-over): with a
 * handful of trackers that costs little and finds more peers.
 */
import type { PeerAddress } from '../codec/compact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { AnnounceEvent } from './announce-request.js';
import type { AnnounceReply } from './announce-reply.js';
import type { HttpGet } from './http-get.js';
import { announce, ANNOUNCE_TIMEOUT_MS, trackerScheme } from './http-tracker.js';

/** Trackers announced to per torrent: announce-lists of hundreds exist and would be a burst of requests. */
export const MAX_TRACKERS = 32;
/** First retry after a failure; doubles per consecutive failure. */
export const BACKOFF_BASE_MS = 15_000;
/** Longest wait between retries of a failing tracker (about libtorrent's retry cap). */
export const BACKOFF_MAX_MS = 30 * 60_000;
/** Up to this fraction is added at random to each wait, so many clients do not retry in step. */
export const BACKOFF_JITTER = 0.25;
/** Time `stop()` gives the `stopped` announces: shutdown must end within seconds (CLI.md). */
export const STOP_TIMEOUT_MS = 3_000;
/** Peers asked for per announce (BEP 3 `numwant`; trackers default to 50 and cap around 200). */
export const DEFAULT_NUMWANT = 50;
/** Length of the random `key` (8 hex characters on the wire, as most clients send). */
const KEY_BYTES = 4;

export interface TrackerSessionDeps {
  clock: Clock;
  random: Random;
  log: Logger;
  httpGet: HttpGet;
}

/** Transfer totals read at each announce. */
export interface TransferTotals {
  uploaded: number;
  downloaded: number;
  left: number;
}

export interface TrackerSessionOptions {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  /** Our TCP listen port. */
  port: number;
  /** Tracker URLs (magnet `tr`, announce/announce-list, --tracker); duplicates and the excess dropped. */
  trackers: readonly string[];
  totals: () => TransferTotals;
  onPeers?: (peers: PeerAddress[], tracker: string) => void;
  numwant?: number;
  timeoutMs?: number;
  stopTimeoutMs?: number;
  /** BEP 7 key (default KEY_BYTES random bytes). */
  key?: Uint8Array;
}

export interface TrackerStatus {
  url: string;
  /** False for udp:// and other schemes we do not speak. */
  supported: boolean;
  started: boolean;
  consecutiveFailures: number;
  lastError: string | undefined;
  seeders: number | undefined;
  leechers: number | undefined;
  /** Clock time of the next scheduled announce. */
  nextAnnounceAt: number | undefined;
}

export interface TrackerSessionStats {
  announces: number;
  successes: number;
  failures: number;
  /** Failures by TrackerError code. */
  failuresByCode: Record<string, number>;
  warnings: number;
  peersReceived: number;
  trackers: TrackerStatus[];
}

interface TrackerState {
  url: string;
  supported: boolean;
  started: boolean;
  completedPending: boolean;
  trackerId: Uint8Array | undefined;
  consecutiveFailures: number;
  lastError: string | undefined;
  seeders: number | undefined;
  leechers: number | undefined;
  timer: TimerHandle | undefined;
  nextAnnounceAt: number | undefined;
  inFlight: AbortController | undefined;
}

export class TrackerSession {
  private readonly trackers: TrackerState[];
  private readonly key: Uint8Array;
  private running = false;
  private stopped = false;
  private completeSignalled = false;
  private readonly counters = { announces: 0, successes: 0, failures: 0, warnings: 0, peersReceived: 0 };
  private readonly failuresByCode: Record<string, number> = {};

  constructor(
    private readonly deps: TrackerSessionDeps,
    private readonly opts: TrackerSessionOptions,
  ) {
    const urls = [...new Set(opts.trackers.map((u) => u.trim()).filter((u) => u !== ''))];
    if (urls.length > MAX_TRACKERS) deps.log.warn('tracker list cut', { kept: MAX_TRACKERS, given: urls.length });
    this.trackers = urls.slice(0, MAX_TRACKERS).map((url) => ({
      url,
      supported: trackerScheme(url) !== undefined,
      started: false,
      completedPending: false,
      trackerId: undefined,
      consecutiveFailures: 0,
      lastError: undefined,
      seeders: undefined,
      leechers: undefined,
      timer: undefined,
      nextAnnounceAt: undefined,
      inFlight: undefined,
    }));
    this.key = opts.key ?? deps.random.bytes(KEY_BYTES);
  }

  /** Sends `started` to every supported tracker now. Unsupported ones are counted and logged once. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    for (const t of this.trackers) {
      if (t.supported) {
        void this.announce(t);
      } else {
        t.lastError = 'tracker_unsupported_scheme';
        this.countFailure('tracker_unsupported_scheme');
        this.deps.log.warn('tracker not supported (HTTP and HTTPS only; no UDP trackers)', { tracker: t.url });
      }
    }
  }

  /** The download completed: sends `completed` once to each tracker, at once. Idempotent. */
  completed(): void {
    if (this.completeSignalled || this.stopped) return;
    this.completeSignalled = true;
    for (const t of this.trackers) {
      if (!t.supported) continue;
      // A tracker still waiting for its `started` gets `completed` afterwards unless that `started` already
      // said left=0 (see onSuccess): BEP 3 wants `completed` only for a download that happened.
      t.completedPending = true;
      if (this.running && t.started && t.inFlight === undefined) this.announceNow(t);
    }
  }

  /** Sends `stopped` to the trackers that know us, waiting at most stopTimeoutMs. Never rejects. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const wasRunning = this.running;
    this.running = false;
    // A tracker whose `started` is still unanswered may already hold us: it gets `stopped` too.
    const known = this.trackers.filter((t) => t.supported && (t.started || t.inFlight !== undefined));
    for (const t of this.trackers) {
      if (t.timer) this.deps.clock.clearTimeout(t.timer);
      t.timer = undefined;
      t.nextAnnounceAt = undefined;
      t.inFlight?.abort(new Error('tracker session stopped'));
    }
    if (!wasRunning) return;
    const timeoutMs = this.opts.stopTimeoutMs ?? STOP_TIMEOUT_MS;
    await Promise.allSettled(
      known.map(async (t) => {
        this.counters.announces++;
        try {
          await announce({ clock: this.deps.clock, httpGet: this.deps.httpGet }, t.url, this.params(t, 'stopped'), { timeoutMs });
          this.counters.successes++;
        } catch (err) {
          this.countFailure(errorCode(err) ?? 'tracker_unreachable');
          this.deps.log.debug('tracker stopped announce failed', { tracker: t.url, error: errorMessage(err) });
        }
      }),
    );
  }

  stats(): TrackerSessionStats {
    return {
      ...this.counters,
      failuresByCode: { ...this.failuresByCode },
      trackers: this.trackers.map((t) => ({
        url: t.url,
        supported: t.supported,
        started: t.started,
        consecutiveFailures: t.consecutiveFailures,
        lastError: t.lastError,
        seeders: t.seeders,
        leechers: t.leechers,
        nextAnnounceAt: t.nextAnnounceAt,
      })),
    };
  }

  private params(t: TrackerState, event: AnnounceEvent): Parameters<typeof announce>[2] {
    const totals = this.opts.totals();
    return {
      infoHash: this.opts.infoHash,
      peerId: this.opts.peerId,
      port: this.opts.port,
      uploaded: totals.uploaded,
      downloaded: totals.downloaded,
      left: totals.left,
      event,
      numwant: event === 'stopped' ? 0 : (this.opts.numwant ?? DEFAULT_NUMWANT),
      key: this.key,
      trackerId: t.trackerId,
    };
  }

  private announceNow(t: TrackerState): void {
    if (t.timer) this.deps.clock.clearTimeout(t.timer);
    t.timer = undefined;
    void this.announce(t);
  }

  private schedule(t: TrackerState, delayMs: number): void {
    if (!this.running) return;
    if (t.timer) this.deps.clock.clearTimeout(t.timer);
    t.nextAnnounceAt = this.deps.clock.now() + delayMs;
    t.timer = this.deps.clock.setTimeout(() => {
      t.timer = undefined;
      void this.announce(t);
    }, delayMs);
  }

  /** One announce to one tracker; schedules the next. Never rejects. */
  private async announce(t: TrackerState): Promise<void> {
    if (!this.running || t.inFlight) return;
    const event: AnnounceEvent = !t.started ? 'started' : t.completedPending ? 'completed' : 'none';
    const params = this.params(t, event);
    const controller = new AbortController();
    t.inFlight = controller;
    t.nextAnnounceAt = undefined;
    this.counters.announces++;
    try {
      const reply = await announce({ clock: this.deps.clock, httpGet: this.deps.httpGet }, t.url, params, {
        signal: controller.signal,
        timeoutMs: this.opts.timeoutMs ?? ANNOUNCE_TIMEOUT_MS,
      });
      t.inFlight = undefined;
      if (!this.running) return;
      this.onSuccess(t, event, params.left, reply);
    } catch (err) {
      t.inFlight = undefined;
      if (!this.running) return;
      this.onFailure(t, err);
    }
  }

  private onSuccess(t: TrackerState, event: AnnounceEvent, left: number, reply: AnnounceReply): void {
    this.counters.successes++;
    t.consecutiveFailures = 0;
    t.lastError = undefined;
    if (event === 'started') {
      t.started = true;
      if (left === 0) t.completedPending = false;
    }
    if (event === 'completed') t.completedPending = false;
    if (reply.trackerId !== undefined) t.trackerId = reply.trackerId;
    t.seeders = reply.complete;
    t.leechers = reply.incomplete;
    if (reply.warning !== undefined) {
      this.counters.warnings++;
      this.deps.log.warn('tracker warning', { tracker: t.url, warning: reply.warning });
    }
    this.counters.peersReceived += reply.peers.length;
    if (t.completedPending) {
      // Completion arrived while this announce was in flight: tell the tracker now, not in 30 minutes.
      this.announceNow(t);
    } else {
      this.schedule(t, Math.max(reply.interval, reply.minInterval ?? 0) * 1000);
    }
    if (reply.peers.length > 0 && this.opts.onPeers) {
      try {
        this.opts.onPeers(reply.peers, t.url);
      } catch (err) {
        this.deps.log.error('tracker onPeers callback threw', { error: errorMessage(err) });
      }
    }
  }

  private onFailure(t: TrackerState, err: unknown): void {
    const code = errorCode(err) ?? 'tracker_unreachable';
    this.countFailure(code);
    t.consecutiveFailures++;
    t.lastError = code;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(t.consecutiveFailures - 1, 20));
    const delay = Math.round(base * (1 + BACKOFF_JITTER * this.deps.random.float()));
    this.deps.log.warn('tracker announce failed', { tracker: t.url, code, error: errorMessage(err), retryInMs: delay });
    this.schedule(t, delay);
  }

  private countFailure(code: string): void {
    this.counters.failures++;
    this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
  }
}
