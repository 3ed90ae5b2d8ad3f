import { describe, expect, it } from 'vitest';
import { BanList } from '../../src/swarm/ban-list.js';
import { isLoopbackHost } from '../../src/swarm/loopback.js';

describe('BanList', () => {
  it('bans by IP address after the strike threshold', () => {
    const bans = new BanList({ strikes: 3 });
    const peer = { host: '203.0.113.5', port: 1, peerId: 'aa' };
    expect(bans.strike(peer)).toBe(false);
    expect(bans.strike(peer)).toBe(false);
    expect(bans.isBanned(peer)).toBe(false);
    expect(bans.strike(peer)).toBe(true);
    expect(bans.isBanned({ host: '203.0.113.5' })).toBe(true); // any port, any id
    expect(bans.strike(peer)).toBe(false); // already banned
    expect(bans.size).toBe(1);
  });

  it('on loopback bans the peer id and its endpoint, not every local peer', () => {
    const bans = new BanList();
    bans.ban({ host: '127.0.0.1', port: 7000, peerId: 'bad' });
    expect(bans.isBanned({ host: '127.0.0.1', port: 7000 })).toBe(true);
    expect(bans.isBanned({ host: '127.0.0.1', port: 5555, peerId: 'bad' })).toBe(true);
    expect(bans.isBanned({ host: '127.0.0.1', port: 7001, peerId: 'good' })).toBe(false);
    expect(bans.isBanned({ host: '127.0.0.1' })).toBe(false);
  });

  it('recognises loopback addresses', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.1.2.3')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });
});
