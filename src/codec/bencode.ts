/**
 * Strict bencode (BEP 3). The npm `bencode` decoder is lenient in ways that matter on a hostile network
 * (it truncates overlong strings, ignores trailing bytes, accepts `i012e` and `i-0e`, lets `__proto__`
 * replace a dict's prototype, and recurses without bound), so decoding is ours: a single pass that checks
 * every length against the input and throws a DecodeError with a code. Encoding goes through the `bencode`
 * package, which is correct for well-formed values (it sorts dictionary keys as BEP 3 requires).
 *
 * Policy (docs/malformed-input.md): non-canonical integers and string lengths, trailing bytes, duplicate
 * keys, non-string keys and nesting past `maxDepth` are rejected; dictionary keys out of order are accepted,
 * as libtorrent and most clients accept them.
 */
import bencodeLib from 'bencode';
import { DecodeError } from '../util/errors.js';
import { latin1 } from '../util/bytes.js';

/** A decoded value. Byte strings are views into the input: copy out anything kept past the packet. */
export type BValue = Uint8Array | number | BValue[] | BDict;
/** A dictionary with a null prototype, so no key can reach Object.prototype. */
export interface BDict {
  [key: string]: BValue | undefined;
}

/** Deep enough for every message in the protocols we speak (KRPC nests 3 levels, metainfo about 5). */
export const DEFAULT_MAX_DEPTH = 32;

export interface DecodeOptions {
  /** Maximum nesting of lists and dictionaries. */
  maxDepth?: number;
}

const CH_D = 0x64; // 'd'
const CH_L = 0x6c; // 'l'
const CH_I = 0x69; // 'i'
const CH_E = 0x65; // 'e'
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;

class Decoder {
  pos = 0;
  /** Byte span of each top-level dictionary value, recorded when `trackKey` names it. */
  span: [number, number] | undefined;

  constructor(
    private readonly buf: Uint8Array,
    private readonly maxDepth: number,
    private readonly trackKey?: string,
  ) {}

  fail(code: string, reason: string): never {
    throw new DecodeError(code, `${reason} at byte ${this.pos}`);
  }

  value(depth: number): BValue {
    if (this.pos >= this.buf.length) this.fail('bencode_truncated', 'input ends where a value should start');
    const c = this.buf[this.pos] as number;
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.string();
    if (depth >= this.maxDepth) this.fail('bencode_depth', `nesting deeper than ${this.maxDepth}`);
    if (c === CH_L) return this.list(depth + 1);
    if (c === CH_D) return this.dict(depth + 1);
    return this.fail('bencode_unexpected', `unexpected byte 0x${c.toString(16)}`);
  }

  /** Reads digits up to `terminator`, canonical form only (no leading zeros, no "-0"). */
  private number(terminator: number, allowNegative: boolean): number {
    const buf = this.buf;
    let negative = false;
    if (allowNegative && buf[this.pos] === CH_MINUS) {
      negative = true;
      this.pos++;
    }
    const digitsStart = this.pos;
    let value = 0;
    while (this.pos < buf.length) {
      const c = buf[this.pos] as number;
      if (c === terminator) break;
      if (c < CH_0 || c > CH_9) this.fail('bencode_invalid_int', 'non-digit in a number');
      value = value * 10 + (c - CH_0);
      this.pos++;
      if (this.pos - digitsStart > 16) this.fail('bencode_invalid_int', 'number too long');
    }
    if (this.pos >= buf.length) this.fail('bencode_truncated', 'number runs past the end');
    const digits = this.pos - digitsStart;
    if (digits === 0) this.fail('bencode_invalid_int', 'empty number');
    if (digits > 1 && buf[digitsStart] === CH_0) this.fail('bencode_invalid_int', 'leading zero');
    if (negative && value === 0) this.fail('bencode_invalid_int', 'negative zero');
    if (!Number.isSafeInteger(value)) this.fail('bencode_invalid_int', 'integer beyond 2^53');
    this.pos++; // terminator
    return negative ? -value : value;
  }

  private integer(): number {
    this.pos++; // 'i'
    return this.number(CH_E, true);
  }

  private string(): Uint8Array {
    const len = this.number(CH_COLON, false);
    if (len > this.buf.length - this.pos) this.fail('bencode_truncated', `string of ${len} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  private list(depth: number): BValue[] {
    this.pos++; // 'l'
    const out: BValue[] = [];
    for (;;) {
      if (this.pos >= this.buf.length) this.fail('bencode_truncated', 'list not terminated');
      if (this.buf[this.pos] === CH_E) {
        this.pos++;
        return out;
      }
      out.push(this.value(depth));
    }
  }

  private dict(depth: number): BDict {
    this.pos++; // 'd'
    const out: BDict = Object.create(null) as BDict;
    const topLevel = depth === 1;
    for (;;) {
      if (this.pos >= this.buf.length) this.fail('bencode_truncated', 'dictionary not terminated');
      const c = this.buf[this.pos] as number;
      if (c === CH_E) {
        this.pos++;
        return out;
      }
      if (c < CH_0 || c > CH_9) this.fail('bencode_key', 'dictionary key is not a string');
      const key = latin1(this.string());
      if (key in out) this.fail('bencode_duplicate_key', `duplicate key "${key}"`);
      const valueStart = this.pos;
      out[key] = this.value(depth);
      if (topLevel && key === this.trackKey) this.span = [valueStart, this.pos];
    }
  }
}

/** Decodes exactly one value that fills `bytes`; anything after it is an error. */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): BValue {
  const d = new Decoder(bytes, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = d.value(0);
  if (d.pos !== bytes.length) d.fail('bencode_trailing', `${bytes.length - d.pos} trailing bytes`);
  return value;
}

/**
 * Decodes one value at the start of `bytes` and says where it ended; for BEP 9 `data` messages, where raw
 * bytes follow a bencoded dictionary.
 */
export function decodePrefix(bytes: Uint8Array, options: DecodeOptions = {}): { value: BValue; end: number } {
  const d = new Decoder(bytes, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const value = d.value(0);
  return { value, end: d.pos };
}

/**
 * Decodes a top-level dictionary and returns the exact bytes of one of its values as they appear in the
 * input: a torrent's infohash is the SHA-1 of the raw `info` bytes, never of a re-encoding.
 */
export function decodeWithRawValue(
  bytes: Uint8Array,
  key: string,
  options: DecodeOptions = {},
): { value: BValue; raw: Uint8Array | undefined } {
  const d = new Decoder(bytes, options.maxDepth ?? DEFAULT_MAX_DEPTH, key);
  const value = d.value(0);
  if (d.pos !== bytes.length) d.fail('bencode_trailing', `${bytes.length - d.pos} trailing bytes`);
  const raw = d.span ? bytes.subarray(d.span[0], d.span[1]) : undefined;
  return { value, raw };
}

/** A value we encode: byte strings, strings (UTF-8), safe integers, lists and plain objects. */
export type EncodableValue =
  | Uint8Array
  | string
  | number
  | readonly EncodableValue[]
  | { readonly [key: string]: EncodableValue | undefined };

/** Encodes with keys sorted (BEP 3). Keys whose value is undefined are left out. */
export function encode(value: EncodableValue): Uint8Array {
  const out = bencodeLib.encode(value) as Uint8Array;
  return out;
}

// ---- narrowing helpers for decoded values ----

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

export function isBytes(v: BValue | undefined): v is Uint8Array {
  return v instanceof Uint8Array;
}

export function isInt(v: BValue | undefined): v is number {
  return typeof v === 'number';
}

export function isList(v: BValue | undefined): v is BValue[] {
  return Array.isArray(v);
}
