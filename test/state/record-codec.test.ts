import { describe, expect, it } from 'vitest';
import {
  decodeContact,
  decodePeer,
  decodePool,
  decodeU32,
  encodeContact,
  encodePeer,
  encodePool,
  encodeU32,
  hostPort,
  MAX_HOST_LENGTH,
} from '../../src/state/record-codec.js';
import { errorCode } from '../../src/util/errors.js';
import { id, rawAddress } from './store-contract.js';

const prefix = (ns: string): number => `${ns}!00000001!`.length;

function decodeCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return errorCode(err);
  }
  return 'no error';
}

describe('record codec', () => {
  it('lays out an address record as float64 time, u16 port, ASCII host', () => {
    const { key, value } = encodeContact(1, { id: id(1), host: '10.0.0.1', port: 6881, lastSeen: 1.5 });
    expect(key).toBe(`contact!00000001!${'00'.repeat(16)}00000001`);
    expect([...value]).toEqual([...rawAddress(1.5, 6881, '10.0.0.1')]);
    expect(value).toHaveLength(10 + 8);
  });

  it('round-trips contacts, pool entries and peers, IPv4 and IPv6', () => {
    for (const host of ['192.0.2.1', '2001:db8::1', '::', '::ffff:192.0.2.1']) {
      const c = { id: id(5), host, port: 65535, lastSeen: -1 };
      const ec = encodeContact(1, c);
      expect(decodeContact(ec.key, Uint8Array.from(ec.value), prefix('contact'))).toEqual(c);
      const p = { id: id(6), host, port: 1, addedAt: 0 };
      const ep = encodePool(1, p);
      expect(decodePool(ep.key, Uint8Array.from(ep.value), prefix('pool'))).toEqual(p);
      const peer = { infoHash: id(7), host, port: 80, expiresAt: 2 ** 52 };
      const er = encodePeer(1, peer);
      expect(er.key.endsWith(`!${hostPort(host, 80)}`)).toBe(true);
      expect(decodePeer(er.key, Uint8Array.from(er.value), prefix('peer'))).toEqual(peer);
    }
  });

  it('brackets IPv6 in host:port', () => {
    expect(hostPort('10.0.0.1', 1)).toBe('10.0.0.1:1');
    expect(hostPort('::1', 1)).toBe('[::1]:1');
  });

  it('rejects values outside the length bounds and bad fields with stable codes', () => {
    const key = `contact!00000001!${'ab'.repeat(20)}`;
    const p = prefix('contact');
    expect(decodeCode(() => decodeContact(key, new Uint8Array(11), p))).toBe('state_bad_length');
    expect(decodeCode(() => decodeContact(key, rawAddress(1, 1, '1'.repeat(MAX_HOST_LENGTH + 1)), p))).toBe('state_bad_length');
    expect(decodeCode(() => decodeContact(key, rawAddress(1, 0, '10.0.0.1'), p))).toBe('state_bad_port');
    expect(decodeCode(() => decodeContact(key, rawAddress(Number.NaN, 1, '10.0.0.1'), p))).toBe('state_bad_time');
    expect(decodeCode(() => decodeContact(key, rawAddress(1, 1, '10.0.0.256'), p))).toBe('state_bad_host');
    expect(decodeCode(() => decodeContact(key, rawAddress(1, 1, '10.0.0.1 '), p))).toBe('state_bad_host');
    expect(decodeCode(() => decodeContact(key.replace('ab', 'AB'), rawAddress(1, 1, '10.0.0.1'), p))).toBe('state_bad_key');
    expect(decodeCode(() => decodeContact(key.replace('ab', 'g0'), rawAddress(1, 1, '10.0.0.1'), p))).toBe('state_bad_key');
    expect(decodeCode(() => decodeContact(key, rawAddress(1, 1, '10.0.0.1'), p))).toBe('no error');
  });

  it('encodes u32 values exactly and rejects other lengths', () => {
    expect([...encodeU32(0x01020304)]).toEqual([1, 2, 3, 4]);
    expect(decodeU32(encodeU32(0xffffffff))).toBe(0xffffffff);
    expect(decodeCode(() => decodeU32(new Uint8Array(5)))).toBe('state_bad_u32');
  });

  it('keeps each loaded id intact while later loads fill the shared slab', () => {
    const key = (n: number): string => `pool!00000001!${'00'.repeat(16)}${n.toString(16).padStart(8, '0')}`;
    const first = decodePool(key(1), rawAddress(1, 1, '10.0.0.1'), prefix('pool')).id;
    for (let i = 2; i < 3000; i++) decodePool(key(i), rawAddress(1, 1, '10.0.0.1'), prefix('pool'));
    expect(first).toEqual(id(1));
  });
});
