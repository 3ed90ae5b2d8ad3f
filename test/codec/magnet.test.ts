import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatMagnet, MAX_MAGNET_LENGTH, parseMagnet } from '../../src/codec/magnet.js';
import { DecodeError } from '../../src/util/errors.js';
import { fromHex, toHex } from '../../src/util/bytes.js';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
// The same 20 bytes in RFC 4648 base32.
const B32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK';

function codeOf(text: string): string | undefined {
  try {
    parseMagnet(text);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
}

describe('parseMagnet', () => {
  it('reads a hex infohash with name, trackers, peers and length', () => {
    const link = parseMagnet(
      `magnet:?xt=urn:btih:${HEX}&dn=Some+File%20name&tr=udp%3A%2F%2Ft1%3A80&tr=http://t2/announce&tr=udp%3A%2F%2Ft1%3A80` +
        `&x.pe=127.0.0.1:6881&x.pe=[::1]:51413&x.pe=bad&x.pe=host.example:0&xl=12345&foo=bar`,
    );
    expect(toHex(link.infoHash)).toBe(HEX);
    expect(link.name).toBe('Some File name');
    expect(link.trackers).toEqual(['udp://t1:80', 'http://t2/announce']);
    expect(link.peers).toEqual([
      { host: '127.0.0.1', port: 6881 },
      { host: '::1', port: 51413 },
    ]);
    expect(link.length).toBe(12345);
  });

  it('reads a base32 infohash, case-insensitively, and uppercase hex', () => {
    expect(toHex(parseMagnet(`magnet:?xt=urn:btih:${B32}`).infoHash)).toBe(HEX);
    expect(toHex(parseMagnet(`magnet:?xt=urn:btih:${B32.toLowerCase()}`).infoHash)).toBe(HEX);
    expect(toHex(parseMagnet(`MAGNET:?xt=URN:BTIH:${HEX.toUpperCase()}`).infoHash)).toBe(HEX);
  });

  it('accepts a bare 40-hex infohash', () => {
    const link = parseMagnet(`  ${HEX}\n`);
    expect(toHex(link.infoHash)).toBe(HEX);
    expect(link.trackers).toEqual([]);
  });

  it('reads a hybrid link through its btih and refuses v2-only links', () => {
    const btmh = 'urn:btmh:1220' + 'ab'.repeat(32);
    expect(toHex(parseMagnet(`magnet:?xt=${btmh}&xt=urn:btih:${HEX}`).infoHash)).toBe(HEX);
    expect(codeOf(`magnet:?xt=${btmh}&dn=x`)).toBe('magnet_v2_only');
    expect(() => parseMagnet(`magnet:?xt=${btmh}`)).toThrow(/v2-only magnet links .* are not supported/);
  });

  it('accepts numbered xt variants but refuses two different infohashes', () => {
    expect(toHex(parseMagnet(`magnet:?xt.1=urn:btih:${HEX}&xt.2=urn:btih:${B32}`).infoHash)).toBe(HEX);
    expect(codeOf(`magnet:?xt=urn:btih:${HEX}&xt=urn:btih:${'0'.repeat(40)}`)).toBe('magnet_conflicting_xt');
  });

  it('refuses garbage with a clear code', () => {
    expect(codeOf('')).toBe('magnet_invalid');
    expect(codeOf('http://example.com/?xt=urn:btih:' + HEX)).toBe('magnet_invalid');
    expect(codeOf(HEX.slice(1))).toBe('magnet_invalid');
    expect(codeOf('magnet:?dn=x')).toBe('magnet_no_btih');
    expect(codeOf('magnet:?xt=urn:sha1:abc')).toBe('magnet_no_btih');
    expect(codeOf(`magnet:?xt=urn:btih:${HEX}00`)).toBe('magnet_bad_infohash');
    expect(codeOf(`magnet:?xt=urn:btih:${B32.slice(0, 31)}1`)).toBe('magnet_bad_infohash');
    expect(codeOf(`magnet:?xt=urn:btih:${'g'.repeat(40)}`)).toBe('magnet_bad_infohash');
    expect(codeOf('magnet:?xt=urn:btih:' + HEX + '&tr=' + 'a'.repeat(MAX_MAGNET_LENGTH))).toBe('magnet_too_long');
  });

  it('skips malformed hints instead of failing', () => {
    const link = parseMagnet(`magnet:?xt=urn:btih:${HEX}&xl=-5&x.pe=[127.0.0.1]:80&x.pe=1.2.3.4:99999&tr=`);
    expect(link.length).toBeUndefined();
    expect(link.peers).toEqual([]);
    expect(link.trackers).toEqual([]);
  });

  it('throws only DecodeError on random input (fuzz, fixed seed)', () => {
    const tail = fc.string({ maxLength: 200, unit: 'binary' });
    fc.assert(
      fc.property(fc.constantFrom('magnet:?', `magnet:?xt=urn:btih:${HEX}&`, 'magnet:?xt=urn:btih:', ''), tail, (head, rest) => {
        try {
          const link = parseMagnet(head + rest);
          expect(link.infoHash.length).toBe(20);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }),
      { seed: 2024, numRuns: 3000 },
    );
  });
});

describe('formatMagnet', () => {
  it('round-trips through parseMagnet', () => {
    const hash = fromHex(HEX) as Uint8Array;
    const text = formatMagnet(hash, {
      name: 'a b&c+d',
      trackers: ['udp://t1:80/announce', 'http://t2/a?x=1&y=2'],
      peers: [{ host: '::1', port: 1 }, { host: '10.0.0.1', port: 2 }],
    });
    expect(text.startsWith(`magnet:?xt=urn:btih:${HEX}&dn=a%20b%26c%2Bd&tr=udp://t1:80/announce`)).toBe(true);
    const back = parseMagnet(text);
    expect(toHex(back.infoHash)).toBe(HEX);
    expect(back.name).toBe('a b&c+d');
    expect(back.trackers).toEqual(['udp://t1:80/announce', 'http://t2/a?x=1&y=2']);
    expect(back.peers).toEqual([{ host: '::1', port: 1 }, { host: '10.0.0.1', port: 2 }]);
    expect(formatMagnet(hash)).toBe(`magnet:?xt=urn:btih:${HEX}`);
    expect(() => formatMagnet(new Uint8Array(19))).toThrow(RangeError);
  });
});
