import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, decodePrefix, decodeWithRawValue, encode, isDict, type BValue } from '../../src/codec/bencode.js';
import { DecodeError } from '../../src/util/errors.js';
import { utf8, fromUtf8 } from '../../src/util/bytes.js';

const b = (s: string): Uint8Array => utf8(s);

function codeOf(input: string | Uint8Array): string | undefined {
  try {
    decode(typeof input === 'string' ? b(input) : input);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
}

describe('bencode decode', () => {
  it('decodes the BEP 3 examples', () => {
    expect(fromUtf8(decode(b('4:spam')) as Uint8Array)).toBe('spam');
    expect(decode(b('i3e'))).toBe(3);
    expect(decode(b('i-3e'))).toBe(-3);
    expect(decode(b('i0e'))).toBe(0);
    const list = decode(b('l4:spam4:eggse')) as Uint8Array[];
    expect(list.map(fromUtf8)).toEqual(['spam', 'eggs']);
    const dict = decode(b('d3:cow3:moo4:spam4:eggse'));
    expect(isDict(dict)).toBe(true);
    if (isDict(dict)) expect(fromUtf8(dict.cow as Uint8Array)).toBe('moo');
  });

  it('rejects what the npm decoder lets through', () => {
    expect(codeOf('5:spam')).toBe('bencode_truncated');
    expect(codeOf('4:spamX')).toBe('bencode_trailing');
    expect(codeOf('i012e')).toBe('bencode_invalid_int');
    expect(codeOf('i-0e')).toBe('bencode_invalid_int');
    expect(codeOf('ie')).toBe('bencode_invalid_int');
    expect(codeOf('02:ab')).toBe('bencode_invalid_int');
    expect(codeOf('i99999999999999999e')).toBe('bencode_invalid_int');
    expect(codeOf('d1:ai1e1:ai2ee')).toBe('bencode_duplicate_key');
    expect(codeOf('di1ei2ee')).toBe('bencode_key');
    expect(codeOf('l')).toBe('bencode_truncated');
    expect(codeOf('')).toBe('bencode_truncated');
    expect(codeOf('x')).toBe('bencode_unexpected');
    expect(codeOf('-1:a')).toBe('bencode_unexpected');
  });

  it('keeps __proto__ as an ordinary key on a null-prototype dict', () => {
    const d = decode(b('d9:__proto__d1:xi1eee'));
    expect(isDict(d)).toBe(true);
    expect(Object.getPrototypeOf(d)).toBe(null);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses deep nesting instead of overflowing the stack', () => {
    expect(codeOf('l'.repeat(100_000) + 'e'.repeat(100_000))).toBe('bencode_depth');
    expect(decode(b('l'.repeat(32) + 'e'.repeat(32)), { maxDepth: 32 })).toBeDefined();
  });

  it('accepts keys out of order (as libtorrent does)', () => {
    const d = decode(b('d1:bi1e1:ai2ee'));
    expect(isDict(d) && d.a).toBe(2);
  });

  it('returns the raw bytes of a top-level value', () => {
    const input = b('d4:infod4:name1:x6:lengthi5ee3:zzzi1ee');
    const { raw } = decodeWithRawValue(input, 'info');
    expect(fromUtf8(raw!)).toBe('d4:name1:x6:lengthi5ee');
  });

  it('decodes a prefix and says where it ends', () => {
    const { value, end } = decodePrefix(b('d1:ai1eeRAWBYTES'));
    expect(isDict(value)).toBe(true);
    expect(end).toBe(8);
  });
});

describe('bencode properties (fixed seed)', () => {
  const valueArb: fc.Arbitrary<BValue> = fc.letrec<{ v: BValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.uint8Array({ maxLength: 40 }),
      fc.maxSafeInteger(),
      fc.array(tie('v'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => /^[\x20-\x7e]*$/.test(k)), tie('v'), { maxKeys: 5 })
        .map((o) => Object.assign(Object.create(null) as Record<string, BValue>, o)),
    ),
  })).v;

  it('round-trips encode -> decode -> encode', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const once = encode(v);
        const again = encode(decode(once));
        expect(Buffer.from(again).equals(Buffer.from(once))).toBe(true);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('never throws anything but DecodeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decode(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { seed: 7, numRuns: 5000 },
    );
  });

  it('never throws anything but DecodeError on mutated valid encodings', () => {
    fc.assert(
      fc.property(valueArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
        const enc = encode(v).slice();
        if (enc.length > 0) enc[at % enc.length] = byte;
        try {
          decode(enc);
        } catch (err) {
          expect(err).toBeInstanceOf(DecodeError);
        }
      }),
      { seed: 11, numRuns: 3000 },
    );
  });
});
