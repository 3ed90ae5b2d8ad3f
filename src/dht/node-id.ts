/** Node ids and infohashes: 20-byte identifiers, XOR distance (BEP 5 "distance metric"). */
import { DecodeError } from '../util/errors.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { Random } from '../util/random.js';

export const ID_BYTES = 20;
export const ID_BITS = 160;

/** A validated 20-byte id. Made only by `toNodeId`/`nodeIdFromHex`/`randomNodeId`. */
export type NodeId = Uint8Array & { readonly __brand: 'NodeId' };

export function toNodeId(bytes: Uint8Array): NodeId {
  if (bytes.length !== ID_BYTES) throw new DecodeError('bad_id', `an id is ${ID_BYTES} bytes, got ${bytes.length}`);
  return bytes as NodeId;
}

export function nodeIdFromHex(hex: string): NodeId {
  const b = fromHex(hex);
  if (!b || b.length !== ID_BYTES) throw new DecodeError('bad_id', `"${hex}" is not a 40-digit hex id`);
  return b as NodeId;
}

export function randomNodeId(random: Random): NodeId {
  return random.bytes(ID_BYTES) as NodeId;
}

export const idHex = toHex;

/**
 * Compares the XOR distances of `a` and `b` to `target`, byte by byte: negative when `a` is closer.
 * Exact for all 160 bits (k-bucket's own distance is a JS number and blurs ties).
 */
export function compareDistance(a: Uint8Array, b: Uint8Array, target: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const t = target[i] as number;
    const da = (a[i] as number) ^ t;
    const db = (b[i] as number) ^ t;
    if (da !== db) return da - db;
  }
  return 0;
}

/** Number of leading bits `a` and `b` share (160 when equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = (a[i] as number) ^ (b[i] as number);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/** A random id sharing exactly `prefixBits` leading bits with `base` (the next bit differs). */
export function randomIdWithPrefix(random: Random, base: Uint8Array, prefixBits: number): NodeId {
  const id = random.bytes(ID_BYTES);
  const bits = Math.min(prefixBits, ID_BITS - 1);
  const fullBytes = bits >> 3;
  id.set(base.subarray(0, fullBytes));
  const rem = bits & 7;
  const b = base[fullBytes] as number;
  // keep `rem` bits of base, flip the next one, random after
  const keepMask = (0xff00 >> rem) & 0xff;
  const flipBit = 0x80 >> rem;
  id[fullBytes] = (b & keepMask) | (~b & flipBit) | ((id[fullBytes] as number) & ~(keepMask | flipBit) & 0xff);
  return id as NodeId;
}
