/**
 * How many connected peers have each piece, kept current as peers arrive with a bitfield, announce pieces
 * with `have`, and leave. The picker reads these counts to go rarest first (BEP 3 leaves the strategy to
 * the client; rarest first is what keeps a swarm from losing its last copy of a piece).
 *
 * The table owns each peer's bitfield, so a `have` is counted once however often the peer repeats it, and
 * removing a peer subtracts exactly what it added.
 */
import { Bitfield } from './bitfield.js';

/** Any stable key for a peer connection (the session uses its own connection id). */
export type PeerKey = string;

export class Availability {
  readonly pieceCount: number;
  private readonly counts: Uint32Array;
  private readonly peers = new Map<PeerKey, Bitfield>();
  private changes = 0;

  constructor(pieceCount: number) {
    this.pieceCount = pieceCount;
    this.counts = new Uint32Array(pieceCount);
  }

  /**
   * Registers a peer with the pieces it has (its `bitfield` message, or an empty field if it sent none).
   * Registering a key twice replaces the earlier field. The field is copied.
   */
  addPeer(key: PeerKey, pieces?: Bitfield): void {
    if (this.peers.has(key)) this.removePeer(key);
    const field = pieces === undefined ? new Bitfield(this.pieceCount) : pieces.clone();
    if (field.length !== this.pieceCount) throw new RangeError(`bitfield covers ${field.length} pieces, torrent has ${this.pieceCount}`);
    this.peers.set(key, field);
    for (const i of field.indices()) this.counts[i] = (this.counts[i] as number) + 1;
    this.changes++;
  }

  /**
   * Replaces a registered peer's field wholesale (a late `bitfield`, or BEP 6 have_all). Equivalent to
   * remove then add, kept as one call for clarity at the call site.
   */
  setPieces(key: PeerKey, pieces: Bitfield): void {
    this.addPeer(key, pieces);
  }

  /** A peer announced piece `index`. Returns false (and changes nothing) if unknown or already counted. */
  have(key: PeerKey, index: number): boolean {
    const field = this.peers.get(key);
    if (field === undefined || index < 0 || index >= this.pieceCount || !Number.isInteger(index)) return false;
    if (!field.set(index)) return false;
    this.counts[index] = (this.counts[index] as number) + 1;
    this.changes++;
    return true;
  }

  /** Forgets a peer, subtracting its pieces. */
  removePeer(key: PeerKey): void {
    const field = this.peers.get(key);
    if (field === undefined) return;
    this.peers.delete(key);
    for (const i of field.indices()) this.counts[i] = (this.counts[i] as number) - 1;
    this.changes++;
  }

  /** Changes with every change to a count or to a peer's pieces (the picker keeps its order until then). */
  get version(): number {
    return this.changes;
  }

  /** Number of registered peers that have piece `index`. */
  count(index: number): number {
    return this.counts[index] ?? 0;
  }

  /** The pieces a registered peer has (read-only by convention), or undefined if the key is unknown. */
  peerPieces(key: PeerKey): Bitfield | undefined {
    return this.peers.get(key);
  }

  /** Whether a registered peer has piece `index`. */
  peerHas(key: PeerKey, index: number): boolean {
    return this.peers.get(key)?.has(index) ?? false;
  }

  /** Number of registered peers. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Number of registered peers that have every piece. */
  seedCount(): number {
    let n = 0;
    for (const f of this.peers.values()) if (f.isComplete()) n++;
    return n;
  }
}
