/**
 * Keys and values of the state store. Keys are ASCII strings `<namespace>!...` (hex only at this edge,
 * STYLE.md convention 7); values are small fixed-layout binaries. Every decoder treats the bytes as hostile
 * input: exact lengths, ranges, an IP-literal host, finite times; anything else throws a DecodeError.
 * The layout is described in docs/state.md.
 */
import { isIP } from 'node:net';
import { DecodeError, DhtNodeError } from '../util/errors.js';
import { toHex } from '../util/bytes.js';
import type { ContactRecord, PeerRecord, PoolRecord } from './state-store.js';

/** The schema this code writes. Bump it on any change of key or value layout (docs/state.md). */
export const SCHEMA_VERSION = 1;

/** BEP 5: node ids and infohashes are 160-bit. */
export const ID_LENGTH = 20;

/** Longest IP literal we store: a full IPv6 with an embedded IPv4 is 45 chars; room for a short zone id. */
export const MAX_HOST_LENGTH = 64;

/** Header of an address record: an 8-byte float64 time and a 2-byte port, then the host in ASCII. */
const ADDR_HEADER = 10;

/** The separator of key parts; '"' (0x22) is the first byte above it, which ends a prefix range. */
export const SEP = '!';
const SEP_END = '"';

export const KEY_SCHEMA = 'meta!schema';
export const KEY_NODE_ID = 'node!id';

/** The namespaces saved with replace-all semantics, each under a committed generation (docs/state.md). */
export type SetNamespace = 'contact' | 'peer' | 'pool';
export const SET_NAMESPACES: readonly SetNamespace[] = ['contact', 'peer', 'pool'];

/** Every top-level key prefix this schema owns; a key outside all of them is foreign. */
export const KNOWN_PREFIXES: readonly string[] = ['contact', 'meta', 'node', 'peer', 'pool'];

/** A half-open key range [gte, lt); a missing bound is open. */
export interface KeyRange {
  readonly gte?: string;
  readonly lt?: string;
}

/** All keys starting with `prefix + SEP`. */
export function prefixRange(prefix: string): KeyRange {
  return { gte: prefix + SEP, lt: prefix + SEP_END };
}

/** The key holding the committed generation of a set namespace. */
export function genKey(ns: SetNamespace): string {
  return `meta!gen!${ns}`;
}

/** Generations are fixed-width hex so they sort numerically inside the key. */
export function genHex(gen: number): string {
  return gen.toString(16).padStart(8, '0');
}

/** The range of one generation of a set namespace. */
export function genRange(ns: SetNamespace, gen: number): KeyRange {
  return prefixRange(`${ns}${SEP}${genHex(gen)}`);
}

/** A u32 big-endian value (schema version, generation numbers). */
export function encodeU32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

export function decodeU32(value: Uint8Array): number {
  if (value.length !== 4) throw new DecodeError('state_bad_u32', `expected 4 bytes, got ${value.length}`);
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
}

export function decodeNodeId(value: Uint8Array): Uint8Array {
  if (value.length !== ID_LENGTH) throw new DecodeError('state_bad_id', `node id of ${value.length} bytes`);
  return Uint8Array.from(value);
}

/** `host:port`, with brackets around IPv6 so the port stays unambiguous. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

interface AddressFields {
  host: string;
  port: number;
  time: number;
}

function checkAddress(what: string, host: string, port: number, time: number): void {
  if (typeof host !== 'string' || host.length > MAX_HOST_LENGTH || isIP(host) === 0) {
    throw new DhtNodeError('state_invalid_record', `${what}: host is not an IP literal: ${String(host)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DhtNodeError('state_invalid_record', `${what}: port out of range: ${port}`);
  }
  if (!Number.isFinite(time)) throw new DhtNodeError('state_invalid_record', `${what}: time is not finite`);
}

function checkId(what: string, id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== ID_LENGTH) {
    throw new DhtNodeError('state_invalid_record', `${what}: id must be ${ID_LENGTH} bytes`);
  }
}

/**
 * Small fixed-size byte arrays are carved from shared slabs, as Node's Buffer pool does: one ArrayBuffer
 * per record made saving or loading a million-entry pool spend most of its time in the garbage collector
 * (see test/bench/state-pool.mjs). A slab is never rewritten, only replaced when full, so every view stays
 * valid; all views of one slab belong to one save or one load, so none pins memory another would free.
 */
const SLAB_SIZE = 16 * 1024;

class Slab {
  private buf = new Uint8Array(SLAB_SIZE);
  private used = 0;

  take(n: number): Uint8Array {
    if (this.used + n > SLAB_SIZE) {
      this.buf = new Uint8Array(SLAB_SIZE);
      this.used = 0;
    }
    const out = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

const valueSlab = new Slab();
const idSlab = new Slab();

function encodeAddress(host: string, port: number, time: number): Uint8Array {
  const out = valueSlab.take(ADDR_HEADER + host.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setFloat64(0, time);
  view.setUint16(8, port);
  for (let i = 0; i < host.length; i++) out[ADDR_HEADER + i] = host.charCodeAt(i);
  return out;
}

/** Value of each lowercase hex digit by char code, -1 for anything else (uppercase is not canonical). */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE[i.toString(16).charCodeAt(0)] = i;

function decodeAddress(value: Uint8Array): AddressFields {
  if (value.length < ADDR_HEADER + 2 || value.length > ADDR_HEADER + MAX_HOST_LENGTH) {
    throw new DecodeError('state_bad_length', `address record of ${value.length} bytes`);
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const time = view.getFloat64(0);
  const port = view.getUint16(8);
  if (!Number.isFinite(time)) throw new DecodeError('state_bad_time', 'time is not finite');
  if (port === 0) throw new DecodeError('state_bad_port', 'port 0');
  let host = '';
  for (let i = ADDR_HEADER; i < value.length; i++) {
    const c = value[i] as number;
    if (c < 0x21 || c > 0x7e) throw new DecodeError('state_bad_host', 'host is not printable ASCII');
    host += String.fromCharCode(c);
  }
  if (isIP(host) === 0) throw new DecodeError('state_bad_host', 'host is not an IP literal');
  return { host, port, time };
}

/** The 40-char lowercase hex of a 20-byte id taken from a key, or a DecodeError. */
function idFromKeyPart(part: string | undefined): Uint8Array {
  if (part === undefined || part.length !== ID_LENGTH * 2) {
    throw new DecodeError('state_bad_key', 'key does not hold a 40-char lowercase hex id');
  }
  const out = idSlab.take(ID_LENGTH);
  for (let i = 0; i < ID_LENGTH; i++) {
    const hi = HEX_VALUE[part.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_VALUE[part.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new DecodeError('state_bad_key', 'key does not hold a 40-char lowercase hex id');
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Splits `<ns>!<gen>!<rest>` into its parts after the generation. */
function keyTail(key: string, prefixLength: number): string[] {
  return key.slice(prefixLength).split(SEP);
}

export interface EncodedRecord {
  key: string;
  value: Uint8Array;
}

export function encodeContact(gen: number, c: ContactRecord): EncodedRecord {
  checkId('contact', c.id);
  checkAddress('contact', c.host, c.port, c.lastSeen);
  return { key: `contact!${genHex(gen)}!${toHex(c.id)}`, value: encodeAddress(c.host, c.port, c.lastSeen) };
}

/** `prefixLength` is the length of `contact!<gen>!`. */
export function decodeContact(key: string, value: Uint8Array, prefixLength: number): ContactRecord {
  const parts = keyTail(key, prefixLength);
  if (parts.length !== 1) throw new DecodeError('state_bad_key', 'contact key has extra parts');
  const id = idFromKeyPart(parts[0]);
  const a = decodeAddress(value);
  return { id, host: a.host, port: a.port, lastSeen: a.time };
}

export function encodePool(gen: number, p: PoolRecord): EncodedRecord {
  checkId('pool entry', p.id);
  checkAddress('pool entry', p.host, p.port, p.addedAt);
  return { key: `pool!${genHex(gen)}!${toHex(p.id)}`, value: encodeAddress(p.host, p.port, p.addedAt) };
}

export function decodePool(key: string, value: Uint8Array, prefixLength: number): PoolRecord {
  const parts = keyTail(key, prefixLength);
  if (parts.length !== 1) throw new DecodeError('state_bad_key', 'pool key has extra parts');
  const id = idFromKeyPart(parts[0]);
  const a = decodeAddress(value);
  return { id, host: a.host, port: a.port, addedAt: a.time };
}

export function encodePeer(gen: number, p: PeerRecord): EncodedRecord {
  checkId('peer', p.infoHash);
  checkAddress('peer', p.host, p.port, p.expiresAt);
  return {
    key: `peer!${genHex(gen)}!${toHex(p.infoHash)}!${hostPort(p.host, p.port)}`,
    value: encodeAddress(p.host, p.port, p.expiresAt),
  };
}

/** The key's address part must agree with the value: a mismatch means a foreign or damaged record. */
export function decodePeer(key: string, value: Uint8Array, prefixLength: number): PeerRecord {
  const rest = key.slice(prefixLength);
  const cut = rest.indexOf(SEP);
  if (cut < 0) throw new DecodeError('state_bad_key', 'peer key has no address part');
  const infoHash = idFromKeyPart(rest.slice(0, cut));
  const a = decodeAddress(value);
  if (rest.slice(cut + 1) !== hostPort(a.host, a.port)) {
    throw new DecodeError('state_key_mismatch', 'peer key and value disagree on the address');
  }
  return { infoHash, host: a.host, port: a.port, expiresAt: a.time };
}
