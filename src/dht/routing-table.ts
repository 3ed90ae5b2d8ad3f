/**
 * The routing table (BEP 5 "Routing Table"), on `k-bucket` for the bucket tree and splitting, with BEP 5's
 * node states kept beside each contact:
 *   good         answered us within 15 minutes (or queried us within 15 minutes after having answered once);
 *   questionable good no longer, but not failing;
 *   bad          failed MAX_NODE_FAILURES queries in a row.
 * Only nodes that answered us enter (`heardFrom`). A full bucket evicts a bad node at once; with only
 * questionable ones it asks the caller to ping the stalest and keeps the newcomer as its replacement; with
 * all good it drops the newcomer. Admission refuses ourselves, port 0, unroutable addresses, local ones
 * unless allowed, and a second entry for one IP address.
 */
import KBucket from 'k-bucket';
import { isAcceptableAddress } from '../codec/address.js';
import { encodeCompactNode, familyOf, type PeerAddress } from '../codec/compact.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { BUCKET_REFRESH_MS, GOOD_NODE_MS, K, MAX_NODE_FAILURES } from './constants.js';
import { commonPrefixLength, compareDistance, ID_BITS, type NodeId } from './node-id.js';
import { isValidIdForAddress } from './bep42.js';

export interface Contact extends PeerAddress {
  id: NodeId;
  /** When it last answered one of our queries (0: never). */
  lastResponse: number;
  /** When it last sent us a query. */
  lastQuery: number;
  /** Failed queries in a row. */
  failures: number;
  /** k-bucket's field; unused by us but required by its types. */
  vectorClock: number;
  /** The 26- or 38-byte compact node info (BEP 5 / BEP 32), cached for replies. */
  compact?: Uint8Array | undefined;
}

export type NodeState = 'good' | 'questionable' | 'bad';

type RejectReason = 'self' | 'address' | 'ip_taken' | 'id_moved' | 'bep42';

export type AddResult =
  | { status: 'added' | 'updated' }
  | { status: 'rejected'; reason: RejectReason }
  /** Bucket full: ping `ping` (questionable); the newcomer replaces it if that fails. */
  | { status: 'pending'; ping: Contact }
  | { status: 'dropped' };

export interface RoutingTableOptions {
  localId: NodeId;
  k?: number;
  /** Accept loopback and private addresses (LAN use and tests). */
  allowLocal?: boolean;
  /** At most one entry per IP address (default true: one host cannot fill our table). */
  onePerIp?: boolean;
  /**
   * BEP 42 for others' ids: 'off'; 'prefer' (a full bucket gives a node with an invalid id up for a
   * newcomer with a valid one); 'require' (invalid ids never enter). Local addresses are always exempt.
   */
  bep42?: Bep42Policy;
  /** Only addresses of this family enter (BEP 32 keeps one table per family). */
  family?: 4 | 6;
}

export type Bep42Policy = 'off' | 'prefer' | 'require';

export interface RoutingTableStats {
  /** Contacts refused, by reason. */
  rejected: Record<string, number>;
  evictedBad: number;
  replacedAfterPing: number;
  droppedFull: number;
}

export class RoutingTable {
  readonly localId: NodeId;
  readonly k: number;
  readonly stats: RoutingTableStats = { rejected: {}, evictedBad: 0, replacedAfterPing: 0, droppedFull: 0 };
  private readonly buckets: KBucket<Contact>;
  private readonly allowLocal: boolean;
  private readonly onePerIp: boolean;
  private readonly bep42: Bep42Policy;
  private readonly family: 4 | 6 | undefined;
  /** IP -> id of the entry holding it. */
  private readonly byIp = new Map<string, NodeId>();
  /** Pinged questionable node (id hex) -> the newcomer waiting for its place. */
  private readonly replacements = new Map<string, Contact>();
  /** Last time a node in the range of common-prefix-length i answered us, for bucket refresh. */
  private readonly lastActivity: number[];
  private fullBucket: { old: Contact[]; candidate: Contact } | undefined;

  constructor(options: RoutingTableOptions, now: number) {
    this.localId = options.localId;
    this.k = options.k ?? K;
    this.allowLocal = options.allowLocal ?? false;
    this.onePerIp = options.onePerIp ?? true;
    this.bep42 = options.bep42 ?? 'off';
    this.family = options.family;
    this.buckets = new KBucket<Contact>({
      localNodeId: this.localId,
      numberOfNodesPerKBucket: this.k,
      numberOfNodesToPing: this.k,
    });
    // k-bucket reports a full bucket synchronously from add(); we decide what to do with it.
    this.buckets.on('ping', (old: Contact[], candidate: Contact) => {
      this.fullBucket = { old, candidate };
    });
    // Every range starts stale, so maintenance fills the table once bootstrapped.
    this.lastActivity = new Array<number>(ID_BITS + 1).fill(now - BUCKET_REFRESH_MS);
  }

  get size(): number {
    return this.buckets.count();
  }

  state(c: Contact, now: number): NodeState {
    if (c.failures >= MAX_NODE_FAILURES) return 'bad';
    if (c.lastResponse > 0 && (now - c.lastResponse < GOOD_NODE_MS || now - c.lastQuery < GOOD_NODE_MS)) return 'good';
    return 'questionable';
  }

  get(id: Uint8Array): Contact | null {
    return this.buckets.get(id);
  }

  private reject(reason: RejectReason): AddResult {
    this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
    return { status: 'rejected', reason };
  }

  /** Whether a node at this address and id could ever enter (before bucket fullness). */
  admissible(id: Uint8Array, address: PeerAddress): boolean {
    if (bytesEqual(id, this.localId)) return false;
    if (address.port === 0 || !isAcceptableAddress(address.host, this.allowLocal)) return false;
    if (this.family !== undefined && familyOf(address.host) !== this.family) return false;
    if (this.onePerIp) {
      const holder = this.byIp.get(address.host);
      if (holder !== undefined && !bytesEqual(holder, id)) return false;
    }
    return true;
  }

  /** A node answered one of our queries: add it or refresh it. */
  heardFrom(id: NodeId, address: PeerAddress, now: number): AddResult {
    if (bytesEqual(id, this.localId)) return this.reject('self');
    if (address.port === 0 || !isAcceptableAddress(address.host, this.allowLocal)) return this.reject('address');
    if (this.family !== undefined && familyOf(address.host) !== this.family) return this.reject('address');
    if (this.bep42 === 'require' && !isValidIdForAddress(id, address.host)) return this.reject('bep42');
    this.lastActivity[commonPrefixLength(id, this.localId)] = now;
    const existing = this.buckets.get(id);
    if (existing) {
      if (existing.host !== address.host || existing.port !== address.port) {
        // An id that answers from a new address: keep the incumbent unless it is failing.
        if (this.state(existing, now) !== 'bad') return this.reject('id_moved');
        this.remove(existing);
        return this.heardFrom(id, address, now);
      }
      existing.lastResponse = now;
      existing.failures = 0;
      return { status: 'updated' };
    }
    if (this.onePerIp) {
      const holderId = this.byIp.get(address.host);
      const holder = holderId === undefined ? null : this.buckets.get(holderId);
      if (holder) {
        if (this.state(holder, now) !== 'bad') return this.reject('ip_taken');
        this.remove(holder);
      }
    }
    const contact: Contact = { id, host: address.host, port: address.port, lastResponse: now, lastQuery: 0, failures: 0, vectorClock: 0 };
    // Its compact form, made once: every find_node and get_peers reply that names it copies these bytes.
    contact.compact = encodeCompactNode(contact);
    return this.insert(contact, now);
  }

  private insert(contact: Contact, now: number): AddResult {
    this.fullBucket = undefined;
    this.buckets.add(contact);
    const full = this.fullBucket as { old: Contact[]; candidate: Contact } | undefined;
    this.fullBucket = undefined;
    if (!full) {
      this.byIp.set(contact.host, contact.id);
      return { status: 'added' };
    }
    const bad =
      full.old.find((c) => this.state(c, now) === 'bad') ??
      (this.bep42 === 'prefer' && isValidIdForAddress(contact.id, contact.host) ? full.old.find((c) => !isValidIdForAddress(c.id, c.host)) : undefined);
    if (bad) {
      this.stats.evictedBad++;
      this.remove(bad);
      return this.insert(contact, now);
    }
    const questionable = full.old
      .filter((c) => this.state(c, now) === 'questionable')
      .sort((a, b) => Math.max(a.lastResponse, a.lastQuery) - Math.max(b.lastResponse, b.lastQuery))[0];
    if (questionable) {
      this.replacements.set(toHex(questionable.id), contact);
      return { status: 'pending', ping: questionable };
    }
    this.stats.droppedFull++;
    return { status: 'dropped' };
  }

  /** A node sent us a query: it stays good for another 15 minutes if it ever answered us. */
  queriedBy(id: Uint8Array, address: PeerAddress, now: number): boolean {
    const c = this.buckets.get(id);
    if (!c || c.host !== address.host || c.port !== address.port) return false;
    c.lastQuery = now;
    return true;
  }

  /**
   * A query to this node failed. Returns true when the node was removed (replaced by a waiting newcomer,
   * or dropped as bad when its bucket has others to take its place).
   */
  failed(id: Uint8Array, now: number): boolean {
    const c = this.buckets.get(id);
    if (!c) return false;
    c.failures++;
    if (this.state(c, now) !== 'bad') return false;
    const replacement = this.replacements.get(toHex(id));
    this.replacements.delete(toHex(id));
    this.remove(c);
    if (replacement && this.admissible(replacement.id, replacement)) {
      this.stats.replacedAfterPing++;
      this.insert(replacement, now);
    }
    return true;
  }

  remove(c: Contact): void {
    this.buckets.remove(c.id);
    const holder = this.byIp.get(c.host);
    if (holder !== undefined && bytesEqual(holder, c.id)) this.byIp.delete(c.host);
    this.replacements.delete(toHex(c.id));
  }

  /** Up to `n` contacts closest to `target` that are not bad, nearest first (exact byte-wise order). */
  closest(target: Uint8Array, n: number = this.k, now?: number): Contact[] {
    const found = this.buckets.closest(target, n + 4);
    const usable = now === undefined ? found : found.filter((c) => this.state(c, now) !== 'bad');
    // k-bucket sorted them by a float distance, exact but for ties in the first ~53 bits: one insertion
    // pass with the exact comparator restores byte-wise order at the cost of a comparison per element.
    for (let i = 1; i < usable.length; i++) {
      const c = usable[i] as Contact;
      let j = i - 1;
      while (j >= 0 && compareDistance((usable[j] as Contact).id, c.id, target) > 0) {
        usable[j + 1] = usable[j] as Contact;
        j--;
      }
      usable[j + 1] = c;
    }
    if (usable.length > n) usable.length = n;
    return usable;
  }

  /** Every contact. */
  all(): Contact[] {
    return this.buckets.toArray();
  }

  goodCount(now: number): number {
    let n = 0;
    for (const c of this.buckets.toArray()) if (this.state(c, now) === 'good') n++;
    return n;
  }

  /** Bucket depth: the longest common prefix any contact shares with us, plus one. */
  depth(): number {
    let d = 0;
    for (const c of this.buckets.toArray()) d = Math.max(d, commonPrefixLength(c.id, this.localId) + 1);
    return d;
  }

  /** Common-prefix lengths whose range has been quiet for BUCKET_REFRESH_MS (BEP 5 refresh). */
  staleRanges(now: number): number[] {
    const depth = Math.max(1, this.depth());
    const out: number[] = [];
    for (let i = 0; i < depth && i < ID_BITS; i++) if (now - (this.lastActivity[i] as number) >= BUCKET_REFRESH_MS) out.push(i);
    return out;
  }

  /** Marks a range refreshed (a lookup into it ran). */
  touchRange(prefixLength: number, now: number): void {
    this.lastActivity[Math.min(prefixLength, ID_BITS)] = now;
  }

  /** The questionable contact seen least recently, for maintenance pings. */
  stalestQuestionable(now: number): Contact | undefined {
    let best: Contact | undefined;
    for (const c of this.buckets.toArray()) {
      if (this.state(c, now) !== 'questionable') continue;
      if (!best || Math.max(c.lastResponse, c.lastQuery) < Math.max(best.lastResponse, best.lastQuery)) best = c;
    }
    return best;
  }
}
