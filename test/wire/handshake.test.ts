import { describe, expect, it } from 'vitest';
import {
  checkHandshakePrefix,
  decodeHandshake,
  encodeHandshake,
  generatePeerId,
  HANDSHAKE_LENGTH,
  PEER_ID_PREFIX,
} from '../../src/wire/handshake.js';
import { SeededRandom } from '../../src/util/random.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

const infohash = fromHex('0123456789abcdef0123456789abcdef01234567') as Uint8Array;
const peerId = utf8('-DN0100-abcdefghijkl');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
  return undefined;
}

describe('handshake', () => {
  it('encodes the BEP 3 vector with the BEP 10 and BEP 5 bits', () => {
    const bytes = encodeHandshake({ infohash, peerId, extensions: true, dht: true });
    expect(bytes.length).toBe(HANDSHAKE_LENGTH);
    expect(toHex(bytes)).toBe(
      '13' + toHex(utf8('BitTorrent protocol')) + '0000000000100001' + toHex(infohash) + toHex(peerId),
    );
  });

  it('round-trips and reads the flag bits', () => {
    const h = decodeHandshake(encodeHandshake({ infohash, peerId, extensions: false, dht: true }));
    expect(h.extensions).toBe(false);
    expect(h.dht).toBe(true);
    expect(toHex(h.infohash)).toBe(toHex(infohash));
    expect(toHex(h.peerId)).toBe(toHex(peerId));
    const h2 = decodeHandshake(encodeHandshake({ infohash, peerId }));
    expect(h2.extensions).toBe(true);
    expect(h2.dht).toBe(false);
  });

  it('copies ids out of the input buffer', () => {
    const bytes = encodeHandshake({ infohash, peerId });
    const h = decodeHandshake(bytes);
    bytes.fill(0);
    expect(toHex(h.infohash)).toBe(toHex(infohash));
  });

  it('rejects wrong length, pstrlen and protocol string', () => {
    const good = encodeHandshake({ infohash, peerId });
    expect(codeOf(() => decodeHandshake(good.subarray(0, 67)))).toBe('wire_bad_handshake');
    const badLen = good.slice();
    badLen[0] = 18;
    expect(codeOf(() => decodeHandshake(badLen))).toBe('wire_bad_protocol');
    const badName = good.slice();
    badName[5] = 0x78;
    expect(codeOf(() => decodeHandshake(badName))).toBe('wire_bad_protocol');
    expect(codeOf(() => checkHandshakePrefix(utf8('GET / HTTP/1.1')))).toBe('wire_bad_protocol');
    expect(codeOf(() => checkHandshakePrefix(good.subarray(0, 10)))).toBeUndefined();
    expect(codeOf(() => encodeHandshake({ infohash: infohash.subarray(1), peerId }))).toBe('wire_bad_infohash');
    expect(codeOf(() => encodeHandshake({ infohash, peerId: peerId.subarray(1) }))).toBe('wire_bad_peer_id');
  });

  it('generates Azureus-style peer ids from the injected Random', () => {
    const a = generatePeerId(new SeededRandom(7));
    const b = generatePeerId(new SeededRandom(7));
    const c = generatePeerId(new SeededRandom(8));
    expect(a.length).toBe(20);
    expect(Buffer.from(a).toString('latin1').startsWith(PEER_ID_PREFIX)).toBe(true);
    expect(Buffer.from(a).toString('latin1')).toMatch(/^-DN0100-[0-9A-Za-z]{12}$/);
    expect(toHex(a)).toBe(toHex(b));
    expect(toHex(a)).not.toBe(toHex(c));
  });
});
