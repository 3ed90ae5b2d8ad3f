import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rc4 } from '../../src/wire/rc4.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('rc4', () => {
  it('matches the classic test vectors', () => {
    expect(hex(new Rc4(ascii('Key')).process(ascii('Plaintext')))).toBe('bbf316e8d940af0ad3');
    expect(hex(new Rc4(ascii('Wiki')).process(ascii('pedia')))).toBe('1021bf0420');
    expect(hex(new Rc4(ascii('Secret')).process(ascii('Attack at dawn')))).toBe('45a01f645fc35b383552544b9bf5');
  });

  it('matches RFC 6229 (40-bit key 0102030405) at keystream offsets 0 and 1024 after a discard', () => {
    const key = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(hex(new Rc4(key).process(new Uint8Array(16)))).toBe('b2396305f03dc027ccc3524a0a1118a8');
    const skipped = new Rc4(key);
    skipped.discard(1024);
    expect(hex(skipped.process(new Uint8Array(16)))).toBe('30abbcc7c20b01609f23ee2d5f6bb7df');
  });

  it('decrypts what it encrypted, however the stream is cut, in place or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.uint8Array({ maxLength: 2000 }), fc.nat(2000), (key, data, cut) => {
        const enc = new Rc4(key).process(data);
        const dec = new Rc4(key);
        const at = Math.min(cut, data.length);
        const first = dec.process(enc.subarray(0, at));
        const second = enc.slice(at);
        dec.processInPlace(second);
        expect(Buffer.concat([first, second]).equals(Buffer.from(data))).toBe(true);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('refuses empty and oversized keys', () => {
    expect(() => new Rc4(new Uint8Array(0))).toThrow(RangeError);
    expect(() => new Rc4(new Uint8Array(257))).toThrow(RangeError);
  });
});
