/**
 * Magnet links (BEP 9): `magnet:?xt=urn:btih:<infohash>&dn=<name>&tr=<tracker>&x.pe=<host:port>&xl=<bytes>`.
 * The infohash is 40 hex digits or 32 base32 characters (RFC 4648, the older form). A bare 40-hex infohash
 * is accepted too, as users paste those. v2-only links (`urn:btmh:`, BEP 52) are refused with their own
 * code, since this node speaks v1 only; a hybrid link carrying both is read through its btih.
 *
 * Policy: unknown parameters are ignored; a malformed `tr`, `x.pe` or `xl` value is skipped (they are
 * hints), but a bad or conflicting `xt` rejects the whole link.
 */
import { isIP } from 'node:net';
import { DecodeError } from '../util/errors.js';
import { fromHex, toHex } from '../util/bytes.js';

/** Longer input is not a magnet link anyone typed or pasted; bounds the parsing work. */
export const MAX_MAGNET_LENGTH = 64 * 1024;
/** Tracker and peer hints kept per link; the rest are dropped. */
export const MAX_MAGNET_HINTS = 200;

/** A peer address hint (`x.pe`). */
export interface MagnetPeer {
  host: string;
  port: number;
}

export interface MagnetLink {
  /** 20-byte v1 infohash. */
  infoHash: Uint8Array;
  /** Display name (`dn`), if any. Only a hint: the info dictionary's name wins. */
  name?: string;
  /** Tracker URLs (`tr`), deduplicated, in order. */
  trackers: string[];
  /** Peer addresses (`x.pe`). */
  peers: MagnetPeer[];
  /** Exact length in bytes (`xl`), if given. */
  length?: number;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding; 32 characters make exactly 20 bytes. */
function fromBase32(s: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let pos = 0;
  for (const ch of s.toUpperCase()) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[pos++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

function fail(code: string, message: string): never {
  throw new DecodeError(code, message);
}

/** Parses the infohash part of `urn:btih:`: 40 hex or 32 base32. */
function parseBtih(value: string): Uint8Array {
  if (/^[0-9a-fA-F]{40}$/.test(value)) return fromHex(value) as Uint8Array;
  if (/^[A-Za-z2-7]{32}$/.test(value)) return fromBase32(value) as Uint8Array;
  return fail('magnet_bad_infohash', `infohash "${value.slice(0, 80)}" is neither 40 hex digits nor 32 base32 characters`);
}

/** `host:port` or `[v6]:port`; undefined when malformed. */
function parsePeer(text: string): MagnetPeer | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  if (text.startsWith('[') && isIP(host) !== 6) return undefined;
  if (!text.startsWith('[') && isIP(host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) return undefined;
  return { host, port };
}

/**
 * Parses a magnet link or a bare 40-hex infohash. Throws DecodeError: `magnet_invalid`, `magnet_no_btih`,
 * `magnet_v2_only`, `magnet_bad_infohash`, `magnet_conflicting_xt`, `magnet_too_long`.
 */
export function parseMagnet(input: string): MagnetLink {
  const text = input.trim();
  if (text.length > MAX_MAGNET_LENGTH) fail('magnet_too_long', `magnet link of ${text.length} characters`);
  if (/^[0-9a-fA-F]{40}$/.test(text)) return { infoHash: fromHex(text) as Uint8Array, trackers: [], peers: [] };
  if (!/^magnet:\?/i.test(text)) fail('magnet_invalid', 'not a magnet link (magnet:?xt=urn:btih:...) or a 40-hex infohash');

  let params: URLSearchParams;
  try {
    params = new URLSearchParams(text.slice(text.indexOf('?') + 1));
  } catch (err) {
    return fail('magnet_invalid', `unreadable magnet link: ${String(err)}`);
  }
  let infoHash: Uint8Array | undefined;
  let sawV2 = false;
  const trackers = new Set<string>();
  const peers: MagnetPeer[] = [];
  const link: MagnetLink = { infoHash: new Uint8Array(0), trackers: [], peers };
  for (const [rawKey, value] of params) {
    // BEP 9 allows numbered variants (xt.1, tr.2) for several values of one key.
    const key = rawKey.replace(/\.\d+$/, '');
    if (key === 'xt') {
      const lower = value.toLowerCase();
      if (lower.startsWith('urn:btih:')) {
        const hash = parseBtih(value.slice('urn:btih:'.length));
        if (infoHash !== undefined && toHex(infoHash) !== toHex(hash)) fail('magnet_conflicting_xt', 'magnet link names two different infohashes');
        infoHash = hash;
      } else if (lower.startsWith('urn:btmh:')) {
        sawV2 = true;
      }
    } else if (key === 'dn') {
      link.name = value;
    } else if (key === 'tr') {
      if (value.length > 0 && value.length <= 2048 && trackers.size < MAX_MAGNET_HINTS) trackers.add(value);
    } else if (key === 'x.pe') {
      const peer = parsePeer(value);
      if (peer !== undefined && peers.length < MAX_MAGNET_HINTS) peers.push(peer);
    } else if (key === 'xl') {
      if (/^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value))) link.length = Number(value);
    }
  }
  if (infoHash === undefined) {
    if (sawV2) fail('magnet_v2_only', 'v2-only magnet links (urn:btmh, BEP 52) are not supported; a v1 or hybrid link (urn:btih) is needed');
    fail('magnet_no_btih', 'magnet link has no xt=urn:btih: infohash');
  }
  link.infoHash = infoHash;
  link.trackers = [...trackers];
  return link;
}

/** Percent-encodes like encodeURIComponent but keeps `:` and `/` readable, as most clients do. */
function encodeParam(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%2F/gi, '/');
}

/** Formats a v1 magnet link: `magnet:?xt=urn:btih:<hex>&dn=...&tr=...`. */
export function formatMagnet(infoHash: Uint8Array, options: { name?: string; trackers?: readonly string[]; peers?: readonly MagnetPeer[] } = {}): string {
  if (infoHash.length !== 20) throw new RangeError('an infohash is 20 bytes');
  let out = `magnet:?xt=urn:btih:${toHex(infoHash)}`;
  if (options.name !== undefined && options.name !== '') out += `&dn=${encodeParam(options.name)}`;
  for (const tr of options.trackers ?? []) out += `&tr=${encodeParam(tr)}`;
  for (const p of options.peers ?? []) out += `&x.pe=${encodeParam(p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`)}`;
  return out;
}
