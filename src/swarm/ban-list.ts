/**
 * Who we no longer talk to, and why. A peer earns a strike for each failed piece it alone supplied, and is
 * banned for the session at BAN_STRIKES; a peer proven to have sent a bad block (PieceBlame: its block
 * differs from the same block of the piece once verified) is banned at once.
 *
 * Scope: normally the IP address, since a bad peer can reconnect from another port or with another peer
 * id. On loopback every local process shares 127.0.0.1 (and on tests every peer does), so there the ban
 * covers the peer id and the peer's listen endpoint instead.
 */
import { isLoopbackHost } from './loopback.js';

/** Sole-supplier hash failures before a ban: one can be a fluke of a buggy disk; three is a pattern. */
export const BAN_STRIKES = 3;

/** Enough to recognise a peer again. */
export interface PeerIdentity {
  host: string;
  /** The peer's listen port if known (dialled peers), for loopback bans. */
  port?: number | undefined;
  /** Hex peer id from its handshake. */
  peerId?: string | undefined;
}

export class BanList {
  private readonly strikes = new Map<string, number>();
  private readonly banned = new Set<string>();
  private readonly bannedEndpoints = new Set<string>();
  private readonly threshold: number;

  constructor(options: { strikes?: number } = {}) {
    this.threshold = options.strikes ?? BAN_STRIKES;
  }

  /** Number of bans issued. */
  get size(): number {
    return this.banned.size;
  }

  /** Adds a strike; returns true if that got the peer banned. */
  strike(peer: PeerIdentity): boolean {
    const key = banKey(peer);
    if (key === undefined || this.banned.has(key)) return false;
    const n = (this.strikes.get(key) ?? 0) + 1;
    this.strikes.set(key, n);
    if (n < this.threshold) return false;
    this.ban(peer);
    return true;
  }

  /** Bans outright; returns false if it already was. */
  ban(peer: PeerIdentity): boolean {
    const key = banKey(peer);
    if (peer.port !== undefined) this.bannedEndpoints.add(`${peer.host}|${peer.port}`);
    if (key === undefined || this.banned.has(key)) return false;
    this.banned.add(key);
    return true;
  }

  /** Whether a peer (before or after its handshake) is banned. */
  isBanned(peer: PeerIdentity): boolean {
    if (peer.port !== undefined && this.bannedEndpoints.has(`${peer.host}|${peer.port}`)) return true;
    const key = banKey(peer);
    return key !== undefined && this.banned.has(key);
  }
}

function banKey(peer: PeerIdentity): string | undefined {
  if (!isLoopbackHost(peer.host)) return `ip|${peer.host}`;
  return peer.peerId === undefined ? undefined : `id|${peer.peerId}`;
}
