/**
 * Outbound connections for a session: takes due addresses from the PeerQueue and dials them, at most
 * `maxConnecting` at once, one start per `spacingMs` (so a burst of DHT results becomes a steady trickle),
 * and only while the session has room. Failures go back to the queue for backoff. Timers on the Clock.
 */
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { PeerEndpoint, PeerQueue } from './peer-queue.js';

/** Dials in flight at once: enough to fill the peer list quickly, few enough not to look like a scan. */
export const MAX_CONNECTING = 8;
/** Spacing between dial starts. */
export const DIAL_SPACING_MS = 50;

export interface DialerDeps {
  clock: Clock;
  log: Logger;
  queue: PeerQueue;
  /** Opens a byte stream to a peer. */
  dial: (endpoint: PeerEndpoint, signal: AbortSignal) => Promise<Duplex>;
  /** Whether the session wants another connection now (counting the dials in flight). */
  hasRoom: (connecting: number) => boolean;
  isBanned: (endpoint: PeerEndpoint) => boolean;
  /** A dial succeeded: the session takes the stream. */
  connected: (stream: Duplex, endpoint: PeerEndpoint) => void;
}

export interface DialerOptions {
  maxConnecting?: number;
  spacingMs?: number;
}

export class Dialer {
  private readonly deps: DialerDeps;
  private readonly maxConnecting: number;
  private readonly spacingMs: number;
  private readonly schedule: (fn: () => void, ms: number) => TimerHandle;
  private readonly abort = new AbortController();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private lastStart = -Infinity;
  private inFlight = 0;
  private stopped = false;
  /** Dials that failed (refused, timed out). */
  failures = 0;

  constructor(deps: DialerDeps, options: DialerOptions = {}) {
    this.deps = deps;
    this.maxConnecting = options.maxConnecting ?? MAX_CONNECTING;
    this.spacingMs = options.spacingMs ?? DIAL_SPACING_MS;
    // Bound reference: keeps the clock's `this` (and is not mistaken for the ambient timer by the lint).
    this.schedule = deps.clock.setTimeout.bind(deps.clock);
  }

  /** Dials in flight. */
  get connecting(): number {
    return this.inFlight;
  }

  /** Starts a dial if one is due and allowed, and arranges to be called again when the next one is. */
  pump(): void {
    if (this.stopped) return;
    const { clock, queue } = this.deps;
    const now = clock.now();
    if (this.inFlight < this.maxConnecting && this.deps.hasRoom(this.inFlight)) {
      const wait = this.lastStart + this.spacingMs - now;
      if (wait > 0) return this.wakeAt(now + wait);
      const endpoint = queue.next(now);
      if (endpoint !== undefined) {
        this.lastStart = now;
        if (this.deps.isBanned(endpoint)) queue.forget(endpoint);
        else void this.dial(endpoint);
        if (queue.size > 0) this.wakeAt(now + this.spacingMs);
        return;
      }
    }
    const due = queue.nextDue();
    if (due !== undefined) this.wakeAt(Math.max(due, now + this.spacingMs));
  }

  /** Stops dialling and aborts dials in flight. */
  stop(): void {
    this.stopped = true;
    this.abort.abort(new Error('dialer stopped'));
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wakeAt(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.schedule(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, at - this.deps.clock.now());
  }

  private async dial(endpoint: PeerEndpoint): Promise<void> {
    this.inFlight++;
    let stream: Duplex;
    try {
      stream = await this.deps.dial(endpoint, this.abort.signal);
    } catch (err) {
      this.inFlight--;
      this.failures++;
      this.deps.log.debug('dial failed', { peer: `${endpoint.host}:${endpoint.port}`, error: errorMessage(err) });
      this.deps.queue.release(endpoint, this.deps.clock.now(), !this.stopped);
      this.pump();
      return;
    }
    this.inFlight--;
    if (this.stopped) {
      stream.destroy();
      return;
    }
    this.deps.connected(stream, endpoint);
    this.pump();
  }
}
