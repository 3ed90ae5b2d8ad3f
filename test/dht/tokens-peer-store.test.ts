import { describe, expect, it } from 'vitest';
import { PEER_TTL_MS, TOKEN_ROTATE_MS } from '../../src/dht/constants.js';
import { PeerStore } from '../../src/dht/peer-store.js';
import { TokenManager } from '../../src/dht/tokens.js';
import { SeededRandom } from '../../src/util/random.js';

const T0 = 1_000_000;

describe('TokenManager', () => {
  it('accepts a token for 5 to 10 minutes, only from the address it was issued to', () => {
    const tokens = new TokenManager(new SeededRandom(1), T0);
    const tok = tokens.issue('1.2.3.4', T0);
    expect(tokens.verify(tok, '1.2.3.4', T0 + 1000)).toBe(true);
    expect(tokens.verify(tok, '1.2.3.5', T0 + 1000)).toBe(false);
    expect(tokens.verify(tok, '1.2.3.4', T0 + TOKEN_ROTATE_MS + 1)).toBe(true);
    expect(tokens.verify(tok, '1.2.3.4', T0 + 2 * TOKEN_ROTATE_MS + 1)).toBe(false);
  });

  it('rejects tokens of the wrong length', () => {
    const tokens = new TokenManager(new SeededRandom(1), T0);
    expect(tokens.verify(new Uint8Array(3), '1.2.3.4', T0)).toBe(false);
  });

  it('invalidates everything after a long idle period', () => {
    const tokens = new TokenManager(new SeededRandom(2), T0);
    const tok = tokens.issue('1.2.3.4', T0 + TOKEN_ROTATE_MS - 1);
    expect(tokens.verify(tok, '1.2.3.4', T0 + 5 * TOKEN_ROTATE_MS)).toBe(false);
  });
});

describe('PeerStore', () => {
  const ih = new Uint8Array(20).fill(1);
  const random = new SeededRandom(3);

  it('stores, refreshes and expires peers after 30 minutes', () => {
    const s = new PeerStore();
    s.add(ih, { host: '1.1.1.1', port: 1 }, T0);
    s.add(ih, { host: '1.1.1.2', port: 2 }, T0 + 1000);
    s.add(ih, { host: '1.1.1.1', port: 1 }, T0 + 2000);
    expect(s.size).toBe(2);
    const hosts = (list: { host: string }[]) => list.map((p) => p.host).sort();
    expect(hosts(s.get(ih, T0 + PEER_TTL_MS + 500, 100, random))).toEqual(['1.1.1.1', '1.1.1.2']);
    expect(s.get(ih, T0 + PEER_TTL_MS + 1500, 100, random)).toEqual([{ host: '1.1.1.1', port: 1 }]);
    s.expire(T0 + PEER_TTL_MS + 2000);
    expect(s.size).toBe(0);
    expect(s.infoHashCount).toBe(0);
  });

  it('caps peers per infohash and infohashes in total, evicting the stalest', () => {
    const s = new PeerStore({ maxInfoHashes: 3, maxPeersPerInfoHash: 5 });
    for (let i = 0; i < 10; i++) s.add(ih, { host: `2.2.2.${i}`, port: 1 }, T0 + i);
    expect(s.size).toBe(5);
    expect(s.get(ih, T0, 100, random).map((p) => p.host).sort()).toEqual(['2.2.2.5', '2.2.2.6', '2.2.2.7', '2.2.2.8', '2.2.2.9']);
    for (let h = 2; h < 6; h++) s.add(new Uint8Array(20).fill(h), { host: '3.3.3.3', port: 1 }, T0);
    expect(s.infoHashCount).toBe(3);
    expect(s.get(ih, T0, 100, random)).toEqual([]);
    expect(s.size).toBe(3);
  });

  it('caps peers in total, taking from the stalest infohash', () => {
    const s = new PeerStore({ maxPeers: 10 });
    const a = new Uint8Array(20).fill(0xa);
    const b = new Uint8Array(20).fill(0xb);
    for (let i = 0; i < 8; i++) s.add(a, { host: `5.5.5.${i}`, port: 1 }, T0 + i);
    for (let i = 0; i < 8; i++) s.add(b, { host: `6.6.6.${i}`, port: 1 }, T0 + 10 + i);
    expect(s.size).toBe(10);
    expect(s.get(b, T0, 100, random)).toHaveLength(8);
    expect(s.get(a, T0, 100, random).map((p) => p.host).sort()).toEqual(['5.5.5.6', '5.5.5.7']);
  });

  it('returns a random subset when asked for fewer than stored', () => {
    const s = new PeerStore();
    for (let i = 0; i < 200; i++) s.add(ih, { host: `4.4.${i >> 8}.${i & 255}`, port: 1 }, T0);
    const a = s.get(ih, T0, 100, random);
    const b = s.get(ih, T0, 100, random);
    expect(a).toHaveLength(100);
    expect(new Set(a.map((p) => p.host)).size).toBe(100);
    expect(a).not.toEqual(b);
  });
});
