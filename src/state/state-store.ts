/**
 * The persistent state a node keeps across restarts, behind a narrow interface: the DHT node and the
 * bootstrap node depend on this file only, never on LevelDB. Two implementations share one core
 * (src/state/kv-state-store.ts): LevelDB on disk (level-store.ts) and a map in memory (memory-store.ts).
 *
 * Everything here is a cache of what the network can tell us again (except the node id, which we keep so
 * our place in the keyspace stays stable, BEP 5 "Routing Table"). So the policy is: records are validated
 * on load like network input, a bad one is skipped and counted, and a damaged store costs a warning and a
 * rebuild, never a crash. See docs/state.md.
 */

/** A routing-table contact (BEP 5 compact node info plus when we last heard from it). */
export interface ContactRecord {
  /** The contact's node id, exactly 20 bytes. */
  readonly id: Uint8Array;
  /** An IPv4 or IPv6 literal (never a hostname). */
  readonly host: string;
  /** 1..65535. */
  readonly port: number;
  /** Wall-clock milliseconds since the epoch (monotonic clocks do not survive a restart). */
  readonly lastSeen: number;
}

/** One entry of the DHT peer store (BEP 5 announce_peer): a peer for an infohash, until it expires. */
export interface PeerRecord {
  /** Exactly 20 bytes. */
  readonly infoHash: Uint8Array;
  readonly host: string;
  readonly port: number;
  /** Wall-clock milliseconds since the epoch after which the entry is dropped. */
  readonly expiresAt: number;
}

/** A verified node of the bootstrap pool. */
export interface PoolRecord {
  /** Exactly 20 bytes. */
  readonly id: Uint8Array;
  readonly host: string;
  readonly port: number;
  /** Wall-clock milliseconds since the epoch when it entered the pool. */
  readonly addedAt: number;
}

/** The namespaces whose records are validated on load. */
export type StateNamespace = 'node' | 'contact' | 'peer' | 'pool';

/** What the last load of one namespace found. */
export interface NamespaceReport {
  /** Records returned by the last load. */
  loaded: number;
  /** Records skipped because they did not decode or validate (corrupt or foreign), over the store's life. */
  skipped: number;
  /** Reads that failed inside the database itself (a damaged block) over the store's life. */
  readErrors: number;
}

/** What opening and loading found; the CLI prints it, tests assert on it. */
export interface StateReport {
  /** True when the store was empty and has just been initialised with the current schema. */
  created: boolean;
  /** The schema version found on open, when it was older and the store was rebuilt (see docs/state.md). */
  rebuiltFromVersion?: number;
  /** Where a damaged database was moved aside before starting fresh (LevelDB only). */
  movedCorruptTo?: string;
  /** Keys outside every known namespace, found on open and left alone. */
  foreignKeys: number;
  /** Records of saves that never committed (a crash mid-save), removed on open. */
  discardedUncommitted: number;
  namespaces: Record<StateNamespace, NamespaceReport>;
}

export interface LoadResult<T> {
  readonly entries: T[];
  /** Records skipped in this load as corrupt or foreign. */
  readonly skipped: number;
}

export interface PeerLoadResult extends LoadResult<PeerRecord> {
  /** Valid records dropped because `expiresAt <= now`. */
  readonly expired: number;
}

/**
 * The persistent state of one role (`run`, `bootstrap`, `download`...). Every save replaces the whole
 * saved set of its namespace atomically: after a crash a load returns either the old set or the new one,
 * never a mix. Saving an invalid record (wrong id length, bad port or host, non-finite time) throws a
 * DhtNodeError with code 'state_invalid_record' and writes nothing. Records with the same key (same id; for
 * peers the same infohash, host and port) collapse to the last one given. Loads return records in key
 * order (hex of the id or infohash). Loaded ids are 20-byte views into small shared slabs (16 KiB, one
 * per ~800 ids of the same load): read them by index or copy them, never hand their `.buffer` on.
 */
export interface StateStore {
  getNodeId(): Promise<Uint8Array | undefined>;
  setNodeId(id: Uint8Array): Promise<void>;

  saveContacts(contacts: Iterable<ContactRecord>): Promise<void>;
  loadContacts(): Promise<LoadResult<ContactRecord>>;

  savePeers(entries: Iterable<PeerRecord>): Promise<void>;
  /** Returns the entries with `expiresAt > now` (wall-clock ms). */
  loadPeers(now: number): Promise<PeerLoadResult>;

  /** Accepts any iterable so a caller with millions of entries need not build an array first. */
  savePool(entries: Iterable<PoolRecord>): Promise<void>;
  loadPool(): Promise<LoadResult<PoolRecord>>;

  /** A snapshot of what opening and the loads so far found. */
  loadReport(): StateReport;

  close(): Promise<void>;
}
