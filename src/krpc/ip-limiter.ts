/**
 * Per-address inbound rate limit with a temporary ban, as libtorrent's DoS blocker does: an address that
 * sends more than `limitPerSecond` queries per second averaged over a 10-second window is ignored for
 * 5 minutes. Memory is bounded: the table of tracked addresses is capped and cleared oldest-first.
 */
/** Averaging window. */
export const RATE_WINDOW_MS = 10_000;
/** How long an address stays ignored once over the limit. */
export const BAN_MS = 5 * 60_000;
/** libtorrent's default: about 5 packets/s from one address is as much as an honest node sends. */
export const DEFAULT_IP_RATE_LIMIT = 5;
/** Addresses tracked at once (a spoofed flood from many addresses cannot grow memory past this). */
export const MAX_TRACKED_ADDRESSES = 100_000;

interface Entry {
  windowStart: number;
  count: number;
  bannedUntil: number;
}

export class IpRateLimiter {
  readonly stats = { limited: 0, bans: 0 };
  private readonly entries = new Map<string, Entry>();

  /** `limitPerSecond` 0 turns the limiter off (load benchmarks). */
  constructor(private readonly limitPerSecond: number = DEFAULT_IP_RATE_LIMIT) {}

  /** Counts one packet from `host`; false when it must be ignored. */
  allow(host: string, now: number): boolean {
    if (this.limitPerSecond <= 0) return true;
    let e = this.entries.get(host);
    if (!e) {
      if (this.entries.size >= MAX_TRACKED_ADDRESSES) {
        const oldest = this.entries.keys().next().value as string;
        this.entries.delete(oldest);
      }
      e = { windowStart: now, count: 0, bannedUntil: 0 };
      this.entries.set(host, e);
    }
    if (e.bannedUntil > now) {
      this.stats.limited++;
      return false;
    }
    if (now - e.windowStart >= RATE_WINDOW_MS) {
      e.windowStart = now;
      e.count = 0;
    }
    e.count++;
    if (e.count > this.limitPerSecond * (RATE_WINDOW_MS / 1000)) {
      e.bannedUntil = now + BAN_MS;
      this.stats.bans++;
      this.stats.limited++;
      return false;
    }
    return true;
  }

  get trackedAddresses(): number {
    return this.entries.size;
  }
}
