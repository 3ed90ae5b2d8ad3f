/**
 * Which addresses we accept into routing tables, peer lists and the bootstrap pool. Unroutable addresses
 * (0.0.0.0/8, multicast, broadcast, reserved) are never accepted; loopback and private ranges only when the
 * operator says so (`--allow-local`), since on the public DHT they are either spoofed or useless to others.
 */
import { ipv4ToBytes, ipv6ToBytes } from './compact.js';

export type AddressClass = 'public' | 'local' | 'unroutable';

export function classifyAddress(host: string): AddressClass {
  const v4 = ipv4ToBytes(host);
  if (v4) return classifyIPv4(v4);
  const v6 = ipv6ToBytes(host);
  if (v6) return classifyIPv6(v6);
  return 'unroutable';
}

function classifyIPv4(b: Uint8Array): AddressClass {
  const [a = 0, c = 0] = b;
  if (a === 0) return 'unroutable'; // 0.0.0.0/8: "this network"
  if (a >= 224) return 'unroutable'; // multicast 224/4, reserved 240/4, broadcast
  if (a === 127 || a === 10) return 'local';
  if (a === 172 && c >= 16 && c <= 31) return 'local';
  if (a === 192 && c === 168) return 'local';
  if (a === 169 && c === 254) return 'local'; // link-local
  if (a === 100 && c >= 64 && c <= 127) return 'local'; // carrier-grade NAT
  return 'public';
}

function classifyIPv6(b: Uint8Array): AddressClass {
  const allZeroUntil = (n: number): boolean => b.subarray(0, n).every((x) => x === 0);
  if (allZeroUntil(16)) return 'unroutable'; // ::
  if (allZeroUntil(15) && b[15] === 1) return 'local'; // ::1
  if (allZeroUntil(10) && b[10] === 0xff && b[11] === 0xff) return classifyIPv4(b.subarray(12)); // v4-mapped
  if (b[0] === 0xff) return 'unroutable'; // multicast
  if (b[0] === 0xfe && ((b[1] as number) & 0xc0) === 0x80) return 'local'; // fe80::/10 link-local
  if (((b[0] as number) & 0xfe) === 0xfc) return 'local'; // fc00::/7 unique local
  return 'public';
}

/** True when an address may enter our tables under the given policy. */
export function isAcceptableAddress(host: string, allowLocal: boolean): boolean {
  const cls = classifyAddress(host);
  return cls === 'public' || (cls === 'local' && allowLocal);
}
