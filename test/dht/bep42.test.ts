import { describe, expect, it } from 'vitest';
import { crc32c, idForAddress, isValidIdForAddress } from '../../src/dht/bep42.js';
import { fromHex } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';

// BEP 42 "Test vectors": IP, rand, and a valid node id.
const VECTORS: [string, string][] = [
  ['124.31.75.21', '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
  ['21.75.31.124', '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
  ['65.23.51.170', 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
  ['84.124.73.14', '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
  ['43.213.53.83', 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
];

describe('BEP 42', () => {
  it('computes CRC32-C', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('accepts the BEP test vectors and rejects them at other addresses', () => {
    for (const [ip, hex] of VECTORS) {
      const id = fromHex(hex)!;
      expect(isValidIdForAddress(id, ip)).toBe(true);
      expect(isValidIdForAddress(id, '8.8.8.8')).toBe(false);
    }
  });

  it('exempts local addresses', () => {
    expect(isValidIdForAddress(new Uint8Array(20), '192.168.1.1')).toBe(true);
    expect(isValidIdForAddress(new Uint8Array(20), '127.0.0.1')).toBe(true);
  });

  it('derives valid ids for IPv4 and IPv6 addresses', () => {
    const random = new SeededRandom(42);
    for (const ip of ['1.2.3.4', '203.0.113.9', '2001:db8::1']) {
      for (let i = 0; i < 20; i++) expect(isValidIdForAddress(idForAddress(ip, random)!, ip)).toBe(true);
    }
  });
});
