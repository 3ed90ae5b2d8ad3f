/**
 * Peers announced to us (BEP 5 announce_peer), by infohash. Entries expire after PEER_TTL_MS; the number
 * of infohashes and of peers per infohash are capped, evicting the stalest first, so an announce flood costs
 * bounded memory. Time is passed in; expiry is lazy on access plus a sweep from maintenance.
 */
import type { PeerAddress } from '../codec/compact.js';
import { toHex } from '../util/bytes.js';
import { sample, type Random } from '../util/random.js';
import { MAX_PEERS_PER_INFOHASH, MAX_STORED_INFOHASHES, MAX_STORED_PEERS, PEER_TTL_MS } from './constants.js';

export interface StoredPeer extends PeerAddress {
  expiresAt: number;
}

export interface PeerStoreOptions {
  ttlMs?: number;
  maxInfoHashes?: number;
  maxPeersPerInfoHash?: number;
  maxPeers?: number;
}

interface Entry {
  infoHash: Uint8Array;
  /** Keyed by "host/port"; Map iteration order is insertion order, refreshed on re-announce. */
  peers: Map<string, StoredPeer>;
}

export class PeerStore {
  private readonly byHash = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxInfoHashes: number;
  private readonly maxPeersPerInfoHash: number;
  private readonly maxPeers: number;
  private peerCount = 0;

  constructor(options: PeerStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? PEER_TTL_MS;
    this.maxInfoHashes = options.maxInfoHashes ?? MAX_STORED_INFOHASHES;
    this.maxPeersPerInfoHash = options.maxPeersPerInfoHash ?? MAX_PEERS_PER_INFOHASH;
    this.maxPeers = options.maxPeers ?? MAX_STORED_PEERS;
  }

  get infoHashCount(): number {
    return this.byHash.size;
  }

  get size(): number {
    return this.peerCount;
  }

  /** Records (or refreshes) `peer` for `infoHash`. */
  add(infoHash: Uint8Array, peer: PeerAddress, now: number, expiresAt = now + this.ttlMs): void {
    const hashKey = toHex(infoHash);
    let entry = this.byHash.get(hashKey);
    if (!entry) {
      if (this.byHash.size >= this.maxInfoHashes) this.evictOneInfoHash();
      entry = { infoHash: infoHash.slice(), peers: new Map() };
      this.byHash.set(hashKey, entry);
    }
    const key = `${peer.host}/${peer.port}`;
    if (entry.peers.delete(key)) {
      this.peerCount--; // a refresh: re-inserted below, at the end of insertion order
    } else if (entry.peers.size >= this.maxPeersPerInfoHash) {
      const oldest = entry.peers.keys().next().value as string;
      entry.peers.delete(oldest);
      this.peerCount--;
    } else if (this.peerCount >= this.maxPeers) {
      this.evictOnePeer(hashKey);
    }
    entry.peers.set(key, { host: peer.host, port: peer.port, expiresAt });
    this.peerCount++;
    // Most recently announced infohash last: eviction takes from the front.
    this.byHash.delete(hashKey);
    this.byHash.set(hashKey, entry);
  }

  /** Drops the oldest peer of the stalest infohash (not `keep`, the one being added to, unless alone). */
  private evictOnePeer(keep: string): void {
    for (const [key, entry] of this.byHash) {
      if (key === keep && this.byHash.size > 1) continue;
      const oldest = entry.peers.keys().next().value as string | undefined;
      if (oldest === undefined) continue;
      entry.peers.delete(oldest);
      this.peerCount--;
      if (entry.peers.size === 0 && key !== keep) this.byHash.delete(key);
      return;
    }
  }

  private evictOneInfoHash(): void {
    const first = this.byHash.entries().next().value as [string, Entry] | undefined;
    if (!first) return;
    this.peerCount -= first[1].peers.size;
    this.byHash.delete(first[0]);
  }

  /** Up to `max` unexpired peers for `infoHash`, a random subset when there are more. */
  get(infoHash: Uint8Array, now: number, max: number, random: Random): PeerAddress[] {
    const entry = this.byHash.get(toHex(infoHash));
    if (!entry) return [];
    this.expireEntry(toHex(infoHash), entry, now);
    const live = [...entry.peers.values()];
    const chosen = live.length > max ? sample(random, live, max) : live;
    return chosen.map((p) => ({ host: p.host, port: p.port }));
  }

  private expireEntry(key: string, entry: Entry, now: number): void {
    for (const [k, p] of entry.peers) {
      if (p.expiresAt <= now) {
        entry.peers.delete(k);
        this.peerCount--;
      }
    }
    if (entry.peers.size === 0) this.byHash.delete(key);
  }

  /** Drops every expired entry. */
  expire(now: number): void {
    for (const [key, entry] of this.byHash) this.expireEntry(key, entry, now);
  }

  /** Every live entry, for persistence. */
  *entries(now: number): Generator<{ infoHash: Uint8Array; peer: StoredPeer }> {
    for (const entry of this.byHash.values()) {
      for (const p of entry.peers.values()) if (p.expiresAt > now) yield { infoHash: entry.infoHash, peer: p };
    }
  }
}
