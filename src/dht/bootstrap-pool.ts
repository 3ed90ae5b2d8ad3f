/**
 * The pool of a bootstrap node: verified IPv4 nodes, handed out round-robin so that no node is flooded with
 * every newcomer (the design of bittorrent/bootstrap-dht, behind router.utorrent.com). Entries live in one
 * flat byte array of 26-byte compact records, with a Map from the 32-bit address to the slot (one entry
 * per IP), so millions of entries cost about 26 bytes plus one Map entry each. When full, the oldest entry
 * is overwritten: recently verified nodes are the likeliest to still be up.
 */
import { ipv4FromBytes, ipv4ToBytes, NODE4_LENGTH, type CompactNodeInfo } from '../codec/compact.js';
import { readU32 } from '../util/bytes.js';

/** The reference design's default pool holds about a million nodes; ours defaults smaller and is set with --pool-size. */
export const DEFAULT_POOL_SIZE = 100_000;

export class BootstrapPool {
  private readonly records: Uint8Array;
  private readonly slotByIp = new Map<number, number>();
  private count = 0;
  /** Next slot to overwrite once the pool is full (oldest first). */
  private writeCursor = 0;
  /** Next slot to hand out. */
  private serveCursor = 0;

  constructor(readonly capacity: number = DEFAULT_POOL_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('pool capacity must be a positive integer');
    this.records = new Uint8Array(capacity * NODE4_LENGTH);
  }

  get size(): number {
    return this.count;
  }

  private static ipKey(b: Uint8Array, offset: number): number {
    return readU32(b, offset);
  }

  has(host: string): boolean {
    const ip = ipv4ToBytes(host);
    return ip !== undefined && this.slotByIp.has(BootstrapPool.ipKey(ip, 0));
  }

  /** Adds or refreshes a node (one entry per IP: a new id or port at the same IP replaces the old). */
  add(node: CompactNodeInfo): boolean {
    const ip = ipv4ToBytes(node.host);
    if (!ip || node.id.length !== 20 || node.port < 1 || node.port > 65535) return false;
    const key = BootstrapPool.ipKey(ip, 0);
    let slot = this.slotByIp.get(key);
    if (slot === undefined) {
      if (this.count < this.capacity) {
        slot = this.count++;
      } else {
        slot = this.writeCursor;
        this.writeCursor = (this.writeCursor + 1) % this.capacity;
        this.slotByIp.delete(BootstrapPool.ipKey(this.records, slot * NODE4_LENGTH + 20));
      }
      this.slotByIp.set(key, slot);
    }
    const at = slot * NODE4_LENGTH;
    this.records.set(node.id, at);
    this.records.set(ip, at + 20);
    this.records[at + 24] = node.port >> 8;
    this.records[at + 25] = node.port & 0xff;
    return true;
  }

  /** Removes the entry for an address (a node found dead). */
  remove(host: string): void {
    const ip = ipv4ToBytes(host);
    if (!ip) return;
    const key = BootstrapPool.ipKey(ip, 0);
    const slot = this.slotByIp.get(key);
    if (slot === undefined) return;
    this.slotByIp.delete(key);
    // Move the last record into the hole to keep the array dense.
    const last = this.count - 1;
    if (slot !== last) {
      this.records.copyWithin(slot * NODE4_LENGTH, last * NODE4_LENGTH, (last + 1) * NODE4_LENGTH);
      this.slotByIp.set(BootstrapPool.ipKey(this.records, slot * NODE4_LENGTH + 20), slot);
    }
    this.count--;
    if (this.writeCursor >= this.count) this.writeCursor = 0;
    if (this.serveCursor >= this.count) this.serveCursor = 0;
  }

  /**
   * The next `n` entries round-robin, as one compact `nodes` string ready for a reply (no per-node
   * objects on this hot path), skipping an entry at `exceptHost` (the requester itself).
   */
  nextCompact(n: number, exceptHost?: string): Uint8Array {
    const want = Math.min(n, this.count);
    const out = new Uint8Array(want * NODE4_LENGTH);
    const except = exceptHost === undefined ? undefined : ipv4ToBytes(exceptHost);
    const exceptKey = except ? BootstrapPool.ipKey(except, 0) : -1;
    let written = 0;
    for (let tries = 0; written < want && tries < this.count; tries++) {
      const at = this.serveCursor * NODE4_LENGTH;
      this.serveCursor = (this.serveCursor + 1) % this.count;
      if (BootstrapPool.ipKey(this.records, at + 20) === exceptKey) continue;
      out.set(this.records.subarray(at, at + NODE4_LENGTH), written * NODE4_LENGTH);
      written++;
    }
    return written === want ? out : out.slice(0, written * NODE4_LENGTH);
  }

  /** Every entry, for persistence. */
  *entries(): Generator<CompactNodeInfo> {
    for (let slot = 0; slot < this.count; slot++) {
      const at = slot * NODE4_LENGTH;
      yield {
        id: this.records.slice(at, at + 20),
        host: ipv4FromBytes(this.records, at + 20),
        port: ((this.records[at + 24] as number) << 8) | (this.records[at + 25] as number),
      };
    }
  }
}
