/**
 * BEP 42 (DHT security extension): a node id's first 21 bits are tied to the node's external IP by CRC32-C,
 * so one host cannot pick ids next to a target at will. Local addresses are exempt (BEP 42 "Enforcement").
 */
import { ipv4ToBytes, ipv6ToBytes } from '../codec/compact.js';
import { classifyAddress } from '../codec/address.js';
import type { Random } from '../util/random.js';
import type { NodeId } from './node-id.js';

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

let table: Uint32Array | undefined;
function crc32cTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
}

export function crc32c(data: Uint8Array): number {
  const t = crc32cTable();
  let crc = 0xffffffff;
  for (const b of data) crc = (t[(crc ^ b) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The CRC that fixes the id's first 21 bits for this address and the 3-bit `r` kept in the id's last byte. */
function ipCrc(host: string, r: number): number | undefined {
  const v4 = ipv4ToBytes(host);
  const ip = v4 ?? ipv6ToBytes(host)?.subarray(0, 8);
  if (!ip) return undefined;
  const mask = v4 ? V4_MASK : V6_MASK;
  const masked = ip.map((b, i) => b & (mask[i] as number));
  masked[0] = (masked[0] as number) | ((r & 0x7) << 5);
  return crc32c(masked);
}

/** A BEP 42-valid id for `host`: random but for the bits the address fixes. */
export function idForAddress(host: string, random: Random): NodeId | undefined {
  const id = random.bytes(20);
  const r = (id[19] as number) & 0x7;
  const crc = ipCrc(host, r);
  if (crc === undefined) return undefined;
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | ((id[2] as number) & 0x7);
  return id as NodeId;
}

/** True when `id` is valid for `host` under BEP 42, or `host` is exempt (local addresses). */
export function isValidIdForAddress(id: Uint8Array, host: string): boolean {
  if (classifyAddress(host) !== 'public') return true;
  const crc = ipCrc(host, (id[19] as number) & 0x7);
  if (crc === undefined) return false;
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && ((id[2] as number) & 0xf8) === ((crc >>> 8) & 0xf8);
}
