/**
 * Compact address encodings: peers (BEP 5/23: 6 bytes IPv4, 18 bytes IPv6 per BEP 32) and nodes (BEP 5:
 * 26 bytes = 20-byte id + IPv4 peer; BEP 32: 38 bytes with IPv6). Decoders check exact lengths and reject
 * port 0; callers decide which addresses they accept (see codec/address.ts).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { DecodeError } from '../util/errors.js';

export type AddressFamily = 4 | 6;

export interface PeerAddress {
  host: string;
  port: number;
}

export interface CompactNodeInfo extends PeerAddress {
  id: Uint8Array;
  /** The node's compact encoding, when a holder keeps it (routing-table contacts do). */
  compact?: Uint8Array | undefined;
}

/** One node's compact form (26 bytes for IPv4, 38 for IPv6), or undefined for a non-IP host. */
export function encodeCompactNode(node: CompactNodeInfo): Uint8Array | undefined {
  const family = familyOf(node.host);
  if (family === undefined) return undefined;
  const out = encodeNodes([{ id: node.id, host: node.host, port: node.port }], family);
  return out.length > 0 ? out : undefined;
}

export const ID_LENGTH = 20;
export const PEER4_LENGTH = 6;
export const PEER6_LENGTH = 18;
export const NODE4_LENGTH = ID_LENGTH + PEER4_LENGTH;
export const NODE6_LENGTH = ID_LENGTH + PEER6_LENGTH;

/** IPv4 dotted quad -> 4 bytes, or undefined when not a canonical IPv4 literal. */
export function ipv4ToBytes(host: string, out = new Uint8Array(4), offset = 0): Uint8Array | undefined {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || part > 3) return undefined;
      out[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      if (++digits > 3) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

export function ipv4FromBytes(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** IPv6 literal -> 16 bytes (handles `::` and an embedded IPv4 tail). */
export function ipv6ToBytes(host: string): Uint8Array | undefined {
  if (!isIPv6(host)) return undefined;
  let text = host;
  const out = new Uint8Array(16);
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tailBytes: Uint8Array | undefined;
  if (tail) {
    tailBytes = ipv4ToBytes(tail[1] as string);
    if (!tailBytes) return undefined;
    text = text.slice(0, -(tail[1] as string).length) + '0:0';
  }
  const [headText, restText] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const head = headText === '' ? [] : headText.split(':');
  const rest = restText === undefined || restText === '' ? [] : restText.split(':');
  const groups = restText === undefined ? head : [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  if (groups.length !== 8) return undefined;
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tailBytes) out.set(tailBytes, 12);
  return out;
}

export function ipv6FromBytes(b: Uint8Array, offset = 0): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push((((b[offset + i * 2] as number) << 8) | (b[offset + i * 2 + 1] as number)).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

export function familyOf(host: string): AddressFamily | undefined {
  if (isIPv4(host)) return 4;
  if (isIPv6(host)) return 6;
  return undefined;
}

/** Encodes one peer (6 or 18 bytes); undefined when the host is not an IP literal. */
export function encodePeer(peer: PeerAddress): Uint8Array | undefined {
  const v4 = ipv4ToBytes(peer.host, new Uint8Array(6));
  if (v4) {
    v4[4] = peer.port >> 8;
    v4[5] = peer.port & 0xff;
    return v4;
  }
  const v6 = ipv6ToBytes(peer.host);
  if (!v6) return undefined;
  const out = new Uint8Array(18);
  out.set(v6);
  out[16] = peer.port >> 8;
  out[17] = peer.port & 0xff;
  return out;
}

/** Decodes one compact peer of exactly 6 or 18 bytes. */
export function decodePeer(b: Uint8Array): PeerAddress {
  if (b.length === PEER4_LENGTH) {
    const port = ((b[4] as number) << 8) | (b[5] as number);
    if (port === 0) throw new DecodeError('compact_port_zero', 'peer with port 0');
    return { host: ipv4FromBytes(b), port };
  }
  if (b.length === PEER6_LENGTH) {
    const port = ((b[16] as number) << 8) | (b[17] as number);
    if (port === 0) throw new DecodeError('compact_port_zero', 'peer with port 0');
    return { host: ipv6FromBytes(b), port };
  }
  throw new DecodeError('compact_peer_length', `compact peer of ${b.length} bytes (want 6 or 18)`);
}

/** Concatenated compact peers of one family (BEP 23 tracker replies, BEP 5 `values` entries). */
export function decodePeers(b: Uint8Array, family: AddressFamily): PeerAddress[] {
  const size = family === 4 ? PEER4_LENGTH : PEER6_LENGTH;
  if (b.length % size !== 0) throw new DecodeError('compact_peers_length', `compact peers of ${b.length} bytes (not a multiple of ${size})`);
  const out: PeerAddress[] = [];
  for (let i = 0; i < b.length; i += size) {
    try {
      out.push(decodePeer(b.subarray(i, i + size)));
    } catch {
      // A port-0 entry costs only itself; the rest of the list is still usable.
    }
  }
  return out;
}

/** Encodes nodes of one family as a concatenated string (26 or 38 bytes each); others are left out. */
export function encodeNodes(nodes: readonly CompactNodeInfo[], family: AddressFamily): Uint8Array {
  const size = family === 4 ? NODE4_LENGTH : NODE6_LENGTH;
  const out = new Uint8Array(nodes.length * size);
  let n = 0;
  for (const node of nodes) {
    const at = n * size;
    if (node.compact !== undefined && node.compact.length === size) {
      out.set(node.compact, at);
      n++;
      continue;
    }
    if (family === 4) {
      if (!ipv4ToBytes(node.host, out, at + ID_LENGTH)) continue;
    } else {
      const v6 = ipv6ToBytes(node.host);
      if (!v6) continue;
      out.set(v6, at + ID_LENGTH);
    }
    out.set(node.id, at);
    out[at + size - 2] = node.port >> 8;
    out[at + size - 1] = node.port & 0xff;
    n++;
  }
  return n === nodes.length ? out : out.slice(0, n * size);
}

/**
 * Decodes a compact node list. The length must be an exact multiple of the entry size; entries with
 * port 0 are dropped. Ids are copied so they never pin the datagram they came in.
 */
export function decodeNodes(b: Uint8Array, family: AddressFamily): CompactNodeInfo[] {
  const size = family === 4 ? NODE4_LENGTH : NODE6_LENGTH;
  if (b.length % size !== 0) throw new DecodeError('compact_nodes_length', `compact nodes of ${b.length} bytes (not a multiple of ${size})`);
  const out: CompactNodeInfo[] = [];
  for (let i = 0; i < b.length; i += size) {
    const port = ((b[i + size - 2] as number) << 8) | (b[i + size - 1] as number);
    if (port === 0) continue;
    const host = family === 4 ? ipv4FromBytes(b, i + ID_LENGTH) : ipv6FromBytes(b, i + ID_LENGTH);
    out.push({ id: b.slice(i, i + ID_LENGTH), host, port });
  }
  return out;
}
