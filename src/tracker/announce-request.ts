/**
 * The announce request of BEP 3: the tracker URL with our query parameters appended. `info_hash` and
 * `peer_id` are raw 20-byte strings, percent-encoded byte by byte (never read as UTF-8 first, which would
 * mangle bytes >= 0x80), and the tracker's own query (a passkey, say) is kept.
 */
import { toHex } from '../util/bytes.js';

/** The `event` of BEP 3; `none` is a regular re-announce and sends no `event` parameter. */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'none';

export interface AnnounceParams {
  /** 20 bytes. */
  infoHash: Uint8Array;
  /** 20 bytes. */
  peerId: Uint8Array;
  /** Our TCP listen port. */
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  /** Peers wanted (BEP 3 `numwant`); left out when undefined. */
  numwant?: number | undefined;
  /** A per-session key that lets the tracker recognise us across IP changes (BEP 7 describes it). */
  key?: Uint8Array | undefined;
  /** The `tracker id` the tracker gave in an earlier reply, echoed as `trackerid`. */
  trackerId?: Uint8Array | undefined;
}

/** RFC 3986 unreserved characters go through as they are; every other byte becomes %XX. */
function isUnreserved(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
  );
}

/** Percent-encodes raw bytes for a query string. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += isUnreserved(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Counters are non-negative integers on the wire whatever the caller's arithmetic did. */
function count(n: number): string {
  return Number.isFinite(n) && n > 0 ? Math.floor(n).toString() : '0';
}

/** The full announce URL for `base` (which may carry its own query and a fragment, dropped). */
export function buildAnnounceUrl(base: string, p: AnnounceParams): string {
  const hash = base.indexOf('#');
  const url = hash >= 0 ? base.slice(0, hash) : base;
  const parts = [
    `info_hash=${percentEncodeBytes(p.infoHash)}`,
    `peer_id=${percentEncodeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${count(p.uploaded)}`,
    `downloaded=${count(p.downloaded)}`,
    `left=${count(p.left)}`,
    'compact=1',
  ];
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`);
  if (p.event !== 'none') parts.push(`event=${p.event}`);
  if (p.key !== undefined) parts.push(`key=${toHex(p.key)}`);
  if (p.trackerId !== undefined) parts.push(`trackerid=${percentEncodeBytes(p.trackerId)}`);
  const sep = !url.includes('?') ? '?' : url.endsWith('?') || url.endsWith('&') ? '' : '&';
  return url + sep + parts.join('&');
}
