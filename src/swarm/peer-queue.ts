/**
 * Peers we know of but are not connected to, waiting to be dialled: from --peer, the DHT, trackers or
 * anything else that calls the session's addPeer. Bounded (a DHT lookup can return thousands of
 * addresses), deduplicated by host:port, and with exponential backoff for addresses that failed, so a dead
 * peer costs a few dials rather than a loop. Sans-I/O: callers pass `now`; the session owns the timer.
 */

/** A peer address from any source. */
export interface PeerEndpoint {
  host: string;
  port: number;
}

/** Addresses held for dialling; beyond this new ones are dropped (and counted) until the queue drains. */
export const MAX_QUEUED_PEERS = 1000;
/** Dial attempts per address before it is forgotten (reset after a successful handshake). */
export const MAX_DIAL_ATTEMPTS = 5;
/** First retry delay; doubled after each failure (2 s, 4 s, 8 s, 16 s). */
export const RETRY_BASE_MS = 2_000;

export interface PeerQueueOptions {
  maxQueued?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
}

interface Entry {
  endpoint: PeerEndpoint;
  attempts: number;
  dueAt: number;
}

export function endpointKey(e: PeerEndpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export class PeerQueue {
  private readonly maxQueued: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  /** Waiting to be dialled, in arrival order. */
  private readonly waiting = new Map<string, Entry>();
  /** Being dialled or connected: not queued again until released. */
  private readonly active = new Map<string, Entry>();
  /** Counters (STYLE.md 14). */
  readonly counters = { added: 0, duplicates: 0, droppedFull: 0, givenUp: 0 };

  constructor(options: PeerQueueOptions = {}) {
    this.maxQueued = options.maxQueued ?? MAX_QUEUED_PEERS;
    this.maxAttempts = options.maxAttempts ?? MAX_DIAL_ATTEMPTS;
    this.retryBaseMs = options.retryBaseMs ?? RETRY_BASE_MS;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Queues an address to dial now. */
  add(endpoint: PeerEndpoint, now: number): 'queued' | 'duplicate' | 'full' {
    const key = endpointKey(endpoint);
    if (this.waiting.has(key) || this.active.has(key)) {
      this.counters.duplicates++;
      return 'duplicate';
    }
    if (this.waiting.size >= this.maxQueued) {
      this.counters.droppedFull++;
      return 'full';
    }
    this.waiting.set(key, { endpoint: { host: endpoint.host, port: endpoint.port }, attempts: 0, dueAt: now });
    this.counters.added++;
    return 'queued';
  }

  /** Whether an address is queued, being dialled or connected. */
  knows(endpoint: PeerEndpoint): boolean {
    const key = endpointKey(endpoint);
    return this.waiting.has(key) || this.active.has(key);
  }

  /** Takes the first address that is due, marking it active; undefined if none is due. */
  next(now: number): PeerEndpoint | undefined {
    for (const [key, entry] of this.waiting) {
      if (entry.dueAt > now) continue;
      this.waiting.delete(key);
      this.active.set(key, entry);
      return entry.endpoint;
    }
    return undefined;
  }

  /** When the earliest waiting address falls due (undefined if none waits). */
  nextDue(): number | undefined {
    let due: number | undefined;
    for (const e of this.waiting.values()) if (due === undefined || e.dueAt < due) due = e.dueAt;
    return due;
  }

  /** An address we are connected to that did not come from the queue (an inbound peer's listen port). */
  markActive(endpoint: PeerEndpoint): void {
    const key = endpointKey(endpoint);
    const entry = this.waiting.get(key) ?? { endpoint, attempts: 0, dueAt: 0 };
    this.waiting.delete(key);
    this.active.set(key, entry);
  }

  /** The handshake succeeded: the address has proven good, its failures are forgiven. */
  succeeded(endpoint: PeerEndpoint): void {
    const entry = this.active.get(endpointKey(endpoint));
    if (entry !== undefined) entry.attempts = 0;
  }

  /**
   * The dial failed or the connection ended. With `retry`, the address is queued again after an
   * exponential backoff, unless it has used up its attempts; otherwise it is forgotten.
   */
  release(endpoint: PeerEndpoint, now: number, retry: boolean): void {
    const key = endpointKey(endpoint);
    const entry = this.active.get(key);
    this.active.delete(key);
    if (entry === undefined || !retry) return;
    entry.attempts++;
    if (entry.attempts >= this.maxAttempts || this.waiting.size >= this.maxQueued) {
      this.counters.givenUp++;
      return;
    }
    entry.dueAt = now + this.retryBaseMs * 2 ** (entry.attempts - 1);
    this.waiting.set(key, entry);
  }

  /** Drops an address entirely (it was banned). */
  forget(endpoint: PeerEndpoint): void {
    const key = endpointKey(endpoint);
    this.waiting.delete(key);
    this.active.delete(key);
  }
}
