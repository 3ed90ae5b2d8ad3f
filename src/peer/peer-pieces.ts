/**
 * What one peer says it has. Before metadata (a magnet download) the piece count is unknown, so the
 * peer's bitfield is kept as raw bytes and its haves in a bounded set; once the count is known both are
 * checked (exact length, spare bits zero, indices in range: a lie is a violation) and folded into a Bitfield.
 */
import { DecodeError } from '../util/errors.js';
import { Bitfield } from './bitfield.js';

/** Haves received before metadata that we remember; later ones are dropped (the bitfield usually covers them). */
export const MAX_PENDING_HAVES = 16_384;

export class PeerPieces {
  private count: number | undefined;
  private field: Bitfield | undefined;
  private pendingBits: Uint8Array | undefined;
  private readonly pendingHaves = new Set<number>();
  private sawBitfield = false;

  constructor(pieceCount: number | undefined) {
    this.count = pieceCount;
  }

  get pieceCount(): number | undefined {
    return this.count;
  }

  /** The validated field, once the piece count is known and the peer has said anything. */
  get bitfield(): Bitfield | undefined {
    return this.field;
  }

  /**
   * A `bitfield` message (already length-checked by the decoder when the count is known). BEP 3 allows it
   * only as the first message: `late` says something else came first. Returns the field to announce, if known.
   */
  onBitfield(bits: Uint8Array, late: boolean): Bitfield | undefined {
    if (late || this.sawBitfield || this.field !== undefined) {
      throw new DecodeError('wire_late_bitfield', 'bitfield after other messages');
    }
    this.sawBitfield = true;
    if (this.count === undefined) {
      this.pendingBits = bits.slice();
      return undefined;
    }
    this.field = Bitfield.fromBytes(bits, this.count);
    return this.field;
  }

  /** A `have`; true when it is new and the count is known (announce it). */
  onHave(index: number): boolean {
    if (this.count === undefined) {
      if (this.pendingHaves.size < MAX_PENDING_HAVES) this.pendingHaves.add(index);
      return false;
    }
    this.field ??= new Bitfield(this.count);
    return this.field.set(index);
  }

  /** Learns the piece count; checks what arrived before. Returns the field to announce, if any. Throws DecodeError on a lie. */
  setPieceCount(pieceCount: number): Bitfield | undefined {
    if (this.count !== undefined) return undefined;
    this.count = pieceCount;
    const bits = this.pendingBits;
    this.pendingBits = undefined;
    if (bits !== undefined) this.field = Bitfield.fromBytes(bits, pieceCount);
    else if (this.pendingHaves.size > 0) this.field = new Bitfield(pieceCount);
    for (const i of this.pendingHaves) {
      if (i >= pieceCount) throw new DecodeError('wire_index_out_of_range', `have ${i} beyond ${pieceCount} pieces`);
      this.field?.set(i);
    }
    this.pendingHaves.clear();
    return this.field;
  }
}
