import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Framer, MAX_PIECES_BEFORE_METADATA, maxFrameLength } from '../../src/wire/framer.js';
import { decodeMessage, encodeMessage, MAX_BLOCK_LENGTH, type Message } from '../../src/wire/messages.js';
import { concatBytes, toHex } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

function frames(): Uint8Array[] {
  const msgs: Exclude<Message, { type: 'unknown' }>[] = [
    { type: 'keep-alive' },
    { type: 'unchoke' },
    { type: 'have', index: 5 },
    { type: 'piece', index: 1, begin: 16384, block: new Uint8Array(16384).map((_, i) => i & 0xff) },
    { type: 'request', index: 3, begin: 0, length: 16384 },
    { type: 'keep-alive' },
    { type: 'extended', id: 2, payload: new Uint8Array([1, 2, 3]) },
  ];
  return msgs.map(encodeMessage);
}

const bodiesHex = (fs: Uint8Array[]): string[] => fs.map((f) => toHex(f.subarray(4)));

describe('Framer', () => {
  it('yields the same frames fed byte by byte and in one chunk', () => {
    const all = concatBytes(frames());
    const expected = bodiesHex(frames());
    const oneChunk = new Framer().push(all);
    expect(oneChunk.map(toHex)).toEqual(expected);
    const f = new Framer();
    const got: Uint8Array[] = [];
    for (let i = 0; i < all.length; i++) got.push(...f.push(all.subarray(i, i + 1)));
    expect(got.map(toHex)).toEqual(expected);
    expect(f.buffered).toBe(0);
  });

  it('yields the same frames for any chunking (property, fixed seed)', () => {
    const all = concatBytes(frames());
    const expected = bodiesHex(frames());
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20000 }), { maxLength: 30 }), (cuts) => {
        const f = new Framer();
        const got: Uint8Array[] = [];
        let pos = 0;
        for (const c of cuts) {
          got.push(...f.push(all.subarray(pos, pos + c)));
          pos = Math.min(all.length, pos + c);
        }
        got.push(...f.push(all.subarray(pos)));
        expect(got.map(toHex)).toEqual(expected);
      }),
      { seed: 1234, numRuns: 300 },
    );
  });

  it('keeps what it has not returned when the source refills one read buffer (property, fixed seed)', () => {
    const all = concatBytes(frames());
    const expected = bodiesHex(frames());
    const readBuffer = new Uint8Array(20000);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 30 }), (cuts) => {
        const f = new Framer();
        const got: string[] = [];
        for (let pos = 0, i = 0; pos < all.length; i++) {
          const n = Math.min(cuts[i % cuts.length] as number, all.length - pos);
          readBuffer.set(all.subarray(pos, pos + n));
          // Frames are read before the buffer is reused; push() then keeps the partial frame.
          got.push(...f.push(readBuffer.subarray(0, n)).map(toHex));
          readBuffer.fill(0xee);
          pos += n;
        }
        expect(got).toEqual(expected);
        expect(f.buffered).toBe(0);
      }),
      { seed: 4321, numRuns: 300 },
    );
  });

  it('returns a frame inside one chunk as a view (no copy)', () => {
    const chunk = encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(1000) });
    const [body] = new Framer().push(chunk);
    expect(body?.buffer).toBe(chunk.buffer);
  });

  it('rejects an oversized length prefix before buffering the body', () => {
    const f = new Framer(1000);
    // Prefix says 1001 bytes; only the 4 prefix bytes have arrived.
    expect(() => f.push(new Uint8Array([0, 0, 0x03, 0xe9]))).toThrowError(DecodeError);
    try {
      new Framer(1000).push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    } catch (err) {
      expect((err as DecodeError).code).toBe('wire_frame_too_large');
    }
    // Split prefix: nothing thrown until the 4th byte, then thrown at once.
    const g = new Framer(1000);
    expect(g.push(new Uint8Array([0, 0]))).toEqual([]);
    expect(() => g.push(new Uint8Array([0x10, 0]))).toThrowError(/frame of 4096 bytes/);
    // At the cap is fine.
    const h = new Framer(5);
    expect(h.push(encodeMessage({ type: 'have', index: 1 })).length).toBe(1);
  });

  it('raw reads (for the handshake) then frames from the same buffer', () => {
    const f = new Framer();
    f.append(new Uint8Array([1, 2, 3]));
    expect(f.readExact(4)).toBeUndefined();
    expect(f.peekByte(2)).toBe(3);
    f.append(new Uint8Array([4, 0, 0, 0, 1, 2]));
    expect(Array.from(f.readExact(4) ?? [])).toEqual([1, 2, 3, 4]);
    expect(f.nextFrame()).toEqual(new Uint8Array([2]));
  });

  it('derives the cap from the torrent', () => {
    expect(maxFrameLength(100, 16384)).toBe(64 * 1024 + 2);
    expect(maxFrameLength(8_000_000, 16384)).toBe(1 + 1_000_000);
    expect(maxFrameLength(undefined)).toBe(Math.max(9 + MAX_BLOCK_LENGTH, 1 + MAX_PIECES_BEFORE_METADATA / 8));
  });

  it('never throws anything but DecodeError and never holds more than cap+chunk (fuzz, fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
        const f = new Framer(300);
        try {
          for (const c of chunks) {
            for (const body of f.push(c)) {
              try {
                decodeMessage(body);
              } catch (err) {
                if (!(err instanceof DecodeError)) throw err;
              }
            }
            expect(f.buffered).toBeLessThanOrEqual(304 + 200);
          }
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          expect(err.code).toBe('wire_frame_too_large');
        }
      }),
      { seed: 99, numRuns: 2000 },
    );
  });
});
