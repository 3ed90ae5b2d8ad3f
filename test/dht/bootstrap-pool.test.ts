import { describe, expect, it } from 'vitest';
import { BootstrapPool } from '../../src/dht/bootstrap-pool.js';
import { decodeNodes } from '../../src/codec/compact.js';

const node = (i: number, port = 6881) => ({ id: new Uint8Array(20).fill(i & 255), host: `8.8.${i >> 8}.${i & 255}`, port });

describe('BootstrapPool', () => {
  it('hands entries out round-robin, never the requester itself', () => {
    const pool = new BootstrapPool(100);
    for (let i = 0; i < 10; i++) pool.add(node(i));
    const first = decodeNodes(pool.nextCompact(4), 4).map((n) => n.host);
    const second = decodeNodes(pool.nextCompact(4), 4).map((n) => n.host);
    expect(first).toEqual(['8.8.0.0', '8.8.0.1', '8.8.0.2', '8.8.0.3']);
    expect(second).toEqual(['8.8.0.4', '8.8.0.5', '8.8.0.6', '8.8.0.7']);
    const withoutSelf = decodeNodes(pool.nextCompact(10, '8.8.0.9'), 4).map((n) => n.host);
    expect(withoutSelf).not.toContain('8.8.0.9');
    expect(withoutSelf).toHaveLength(9);
  });

  it('keeps one entry per IP and overwrites the oldest when full', () => {
    const pool = new BootstrapPool(3);
    pool.add(node(1));
    pool.add(node(1, 7000));
    expect(pool.size).toBe(1);
    expect([...pool.entries()][0]!.port).toBe(7000);
    pool.add(node(2));
    pool.add(node(3));
    pool.add(node(4));
    expect(pool.size).toBe(3);
    expect(pool.has('8.8.0.1')).toBe(false);
    expect(pool.has('8.8.0.4')).toBe(true);
  });

  it('removes entries and stays dense', () => {
    const pool = new BootstrapPool(10);
    for (let i = 0; i < 5; i++) pool.add(node(i));
    pool.remove('8.8.0.1');
    expect(pool.size).toBe(4);
    expect([...pool.entries()].map((n) => n.host).sort()).toEqual(['8.8.0.0', '8.8.0.2', '8.8.0.3', '8.8.0.4']);
    pool.add(node(9));
    expect(pool.has('8.8.0.4')).toBe(true);
  });

  it('refuses what is not a compact IPv4 node', () => {
    const pool = new BootstrapPool(10);
    expect(pool.add({ id: new Uint8Array(20), host: '::1', port: 1 })).toBe(false);
    expect(pool.add({ id: new Uint8Array(19), host: '1.1.1.1', port: 1 })).toBe(false);
    expect(pool.add({ id: new Uint8Array(20), host: '1.1.1.1', port: 0 })).toBe(false);
  });
});
