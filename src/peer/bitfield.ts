/**
 * A minimal peer bitfield (BEP 3: high bit of byte 0 is piece 0). src/swarm/ may grow a richer one for
 * availability; this one only records what one peer has, with the exact-length and spare-bit checks done
 * by checkBitfield on the way in.
 */
import { checkBitfield } from '../wire/messages.js';

export class Bitfield {
  readonly length: number;
  private readonly bits: Uint8Array;
  private setCount = 0;

  /** An empty bitfield of `length` pieces. */
  constructor(length: number) {
    this.length = length;
    this.bits = new Uint8Array(Math.ceil(length / 8));
  }

  /** Copies and validates received bytes (throws DecodeError `wire_bad_length` / `wire_spare_bits`). */
  static fromBytes(bytes: Uint8Array, length: number): Bitfield {
    checkBitfield(bytes, length);
    const bf = new Bitfield(length);
    bf.bits.set(bytes);
    let n = 0;
    for (const b of bytes) {
      let v = b;
      while (v !== 0) {
        v &= v - 1;
        n++;
      }
    }
    bf.setCount = n;
    return bf;
  }

  has(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return false;
    return (((this.bits[index >> 3] as number) >> (7 - (index & 7))) & 1) === 1;
  }

  /** Sets a bit; returns false if it was already set or out of range. */
  set(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.length || this.has(index)) return false;
    this.bits[index >> 3] = (this.bits[index >> 3] as number) | (0x80 >> (index & 7));
    this.setCount++;
    return true;
  }

  /** Number of pieces set. */
  get count(): number {
    return this.setCount;
  }

  /** True when every piece is set (a seed). */
  get complete(): boolean {
    return this.setCount === this.length;
  }

  /** A copy of the wire bytes. */
  toBytes(): Uint8Array {
    return this.bits.slice();
  }
}
