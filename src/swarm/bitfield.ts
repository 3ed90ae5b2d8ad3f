/**
 * A set of piece indices over a torrent of N pieces, stored in the BEP 3 wire layout: the high bit of byte 0
 * is piece 0, and the spare bits at the end of the last byte are zero.
 */
import { DecodeError } from '../util/errors.js';

/** Bytes needed on the wire for `pieceCount` pieces (BEP 3: one bit per piece, rounded up to a byte). */
export function bitfieldByteLength(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

/** Popcount of each byte value, so `count()` costs one lookup per byte rather than per bit. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v !== 0; v >>= 1) n += v & 1;
  return n;
});

export class Bitfield {
  /** Number of pieces this field covers. */
  readonly length: number;
  private readonly bits: Uint8Array;
  private setCount = 0;

  /** An empty field over `pieceCount` pieces. */
  constructor(pieceCount: number) {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
      throw new RangeError(`piece count must be a non-negative integer, got ${pieceCount}`);
    }
    this.length = pieceCount;
    this.bits = new Uint8Array(bitfieldByteLength(pieceCount));
  }

  /**
   * Decodes a peer's `bitfield` payload (BEP 3). Hostile input: the length must be exactly
   * ceil(pieceCount/8) and the spare bits must be zero, or a DecodeError is thrown (the caller closes the
   * connection: a peer that lies about the torrent's size cannot be traded with).
   */
  static fromBytes(bytes: Uint8Array, pieceCount: number): Bitfield {
    const field = new Bitfield(pieceCount);
    if (bytes.length !== field.bits.length) {
      throw new DecodeError('bitfield_length', `bitfield is ${bytes.length} bytes, expected ${field.bits.length}`);
    }
    const spare = field.bits.length * 8 - pieceCount;
    if (spare > 0) {
      const mask = (1 << spare) - 1;
      if (((bytes[bytes.length - 1] as number) & mask) !== 0) {
        throw new DecodeError('bitfield_spare_bits', 'bitfield has spare bits set past the last piece');
      }
    }
    field.bits.set(bytes);
    let n = 0;
    for (const b of field.bits) n += POPCOUNT[b] as number;
    field.setCount = n;
    return field;
  }

  /** A field with every piece set (a seeder's). */
  static full(pieceCount: number): Bitfield {
    const field = new Bitfield(pieceCount);
    for (let i = 0; i < pieceCount; i++) field.set(i);
    return field;
  }

  /** The wire payload: a copy, spare bits zero. */
  toBytes(): Uint8Array {
    return this.bits.slice();
  }

  /** Whether piece `index` is set; out-of-range indices are simply not set. */
  has(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return false;
    return (((this.bits[index >> 3] as number) >> (7 - (index & 7))) & 1) === 1;
  }

  /** Sets piece `index`; returns true if it was not set before. Throws RangeError when out of range. */
  set(index: number): boolean {
    this.check(index);
    if (this.has(index)) return false;
    this.bits[index >> 3] = (this.bits[index >> 3] as number) | (0x80 >> (index & 7));
    this.setCount++;
    return true;
  }

  /** Clears piece `index`; returns true if it was set before. */
  clear(index: number): boolean {
    this.check(index);
    if (!this.has(index)) return false;
    this.bits[index >> 3] = (this.bits[index >> 3] as number) & ~(0x80 >> (index & 7));
    this.setCount--;
    return true;
  }

  /** How many pieces are set. */
  count(): number {
    return this.setCount;
  }

  /** True when every piece is set (a field over zero pieces is complete). */
  isComplete(): boolean {
    return this.setCount === this.length;
  }

  /** Set piece indices in increasing order. */
  *indices(): Generator<number> {
    for (let byte = 0; byte < this.bits.length; byte++) {
      const b = this.bits[byte] as number;
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if ((b >> (7 - bit)) & 1) yield byte * 8 + bit;
    }
  }

  /** Unset piece indices in increasing order. */
  *missing(): Generator<number> {
    for (let i = 0; i < this.length; i++) if (!this.has(i)) yield i;
  }

  /** An independent copy. */
  clone(): Bitfield {
    return Bitfield.fromBytes(this.bits, this.length);
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`piece index ${index} out of range 0..${this.length - 1}`);
    }
  }
}
