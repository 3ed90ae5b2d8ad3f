/**
 * RC4, the stream cipher of Message Stream Encryption (MSE/PE). Node 20's OpenSSL 3 leaves RC4 in the
 * legacy provider (`crypto.getCiphers()` has no 'rc4'), so it is written out here: it is a few lines, and
 * MSE only needs the keystream XORed over bytes in order. Not a general-purpose cipher: RC4 is broken as
 * cryptography; MSE uses it as obfuscation and so do we.
 */

/** The size of RC4's permutation state. */
const STATE_SIZE = 256;

/** One RC4 keystream. `process` XORs the next bytes of the stream over its input. */
export class Rc4 {
  private readonly s = new Uint8Array(STATE_SIZE);
  private i = 0;
  private j = 0;

  /** Key scheduling (KSA) over a key of 1 to 256 bytes. */
  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > STATE_SIZE) throw new RangeError(`RC4 key of ${key.length} bytes`);
    const s = this.s;
    for (let k = 0; k < STATE_SIZE; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < STATE_SIZE; k++) {
      const sk = s[k] as number;
      j = (j + sk + (key[k % key.length] as number)) & 0xff;
      s[k] = s[j] as number;
      s[j] = sk;
    }
  }

  /** Drops the next `n` keystream bytes (MSE discards the first 1024, whose bias is known). */
  discard(n: number): void {
    this.xorInto(new Uint8Array(n), new Uint8Array(n));
  }

  /** A new array holding `input` XORed with the next `input.length` keystream bytes. */
  process(input: Uint8Array): Uint8Array {
    const out = new Uint8Array(input.length);
    this.xorInto(input, out);
    return out;
  }

  /** XORs the next keystream bytes over `data` where it lies (for buffers we own). */
  processInPlace(data: Uint8Array): void {
    this.xorInto(data, data);
  }

  private xorInto(input: Uint8Array, out: Uint8Array): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < input.length; k++) {
      i = (i + 1) & 0xff;
      const si = s[i] as number;
      j = (j + si) & 0xff;
      const sj = s[j] as number;
      s[i] = sj;
      s[j] = si;
      out[k] = (input[k] as number) ^ (s[(si + sj) & 0xff] as number);
    }
    this.i = i;
    this.j = j;
  }
}
