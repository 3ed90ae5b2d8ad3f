/**
 * The announce reply decoder (BEP 3, with BEP 23 compact peers and BEP 7 `peers6`). The body comes from a
 * server we do not control, so it is hostile input: one strict bencode decode with a small depth, every key
 * type-checked, the compact strings exact multiples of their entry size, integers bounded.
 *
 * Policy: a wrong type for a key we read, or a compact string of the wrong length, rejects the whole reply
 * (DecodeError); one bad entry of a non-compact peer list, or a port-0 compact entry, costs only itself and
 * is counted in `droppedPeers`; unknown keys are ignored; `failure reason` wins over everything else.
 */
import { decode, isBytes, isDict, isInt, isList, type BValue } from '../codec/bencode.js';
import { decodePeers, familyOf, type PeerAddress } from '../codec/compact.js';
import { fromUtf8 } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';

/** Largest reply we read or decode. A compact reply of 200 peers is 1.2 KB; 1 MiB leaves room for odd
 *  trackers while bounding what a hostile one can make us hold. */
export const MAX_REPLY_BYTES = 1 << 20;
/** A reply nests at most dict > list > dict (non-compact peers); a little slack for unknown keys. */
const MAX_REPLY_DEPTH = 6;
/** Interval used when the tracker sends none (BEP 3 makes it required; 30 minutes is what trackers use). */
export const DEFAULT_INTERVAL_S = 1800;
/** Floor on the re-announce interval: a tracker saying 0 or 1 must not make us hammer it (or ourselves). */
export const MIN_INTERVAL_FLOOR_S = 60;
/** Ceiling on any interval: a hostile `interval` of 10^12 would silence the tracker for good. */
export const MAX_INTERVAL_S = 4 * 3600;
/** Peers we take from one reply; trackers give at most a few hundred (numwant). */
export const MAX_REPLY_PEERS = 1000;
/** Longest tracker text (failure reason, warning) we keep; the rest is cut. */
export const MAX_MESSAGE_CHARS = 512;
/** Longest `tracker id` we store and echo back in later announces. */
export const MAX_TRACKER_ID_BYTES = 256;

/** A successful announce reply. Intervals are in seconds, already clamped. */
export interface AnnounceReply {
  kind: 'ok';
  interval: number;
  /** `min interval`, clamped; undefined when the tracker sent none. */
  minInterval: number | undefined;
  /** Seeders (`complete`) and leechers (`incomplete`), when sent. */
  complete: number | undefined;
  incomplete: number | undefined;
  warning: string | undefined;
  /** Opaque id to echo as `trackerid` (a copy, never a view into the body). */
  trackerId: Uint8Array | undefined;
  /** IPv4 then IPv6 peers, at most MAX_REPLY_PEERS. */
  peers: PeerAddress[];
  /** Entries left out: malformed non-compact entries, port 0, beyond MAX_REPLY_PEERS. */
  droppedPeers: number;
}

/** The tracker refused the announce and said why. */
export interface AnnounceFailure {
  kind: 'failure';
  reason: string;
}

export type AnnounceReplyResult = AnnounceReply | AnnounceFailure;

/** Decodes an announce reply body; throws only DecodeError. */
export function decodeAnnounceReply(body: Uint8Array): AnnounceReplyResult {
  if (body.length > MAX_REPLY_BYTES) throw new DecodeError('tracker_reply_too_large', `reply of ${body.length} bytes (max ${MAX_REPLY_BYTES})`);
  const top = decode(body, { maxDepth: MAX_REPLY_DEPTH });
  if (!isDict(top)) throw new DecodeError('tracker_reply_not_dict', 'announce reply is not a dictionary');

  const failure = top['failure reason'];
  if (failure !== undefined) {
    if (!isBytes(failure)) throw new DecodeError('tracker_reply_type', '`failure reason` is not a string');
    return { kind: 'failure', reason: text(failure) };
  }

  const warning = top['warning message'];
  if (warning !== undefined && !isBytes(warning)) throw new DecodeError('tracker_reply_type', '`warning message` is not a string');

  const interval = optionalInt(top['interval'], 'interval');
  const minInterval = optionalInt(top['min interval'], 'min interval');
  const trackerId = top['tracker id'];
  if (trackerId !== undefined && !isBytes(trackerId)) throw new DecodeError('tracker_reply_type', '`tracker id` is not a string');
  if (trackerId !== undefined && trackerId.length > MAX_TRACKER_ID_BYTES) {
    throw new DecodeError('tracker_reply_tracker_id', `tracker id of ${trackerId.length} bytes (max ${MAX_TRACKER_ID_BYTES})`);
  }

  const peers: PeerAddress[] = [];
  let offered = 0;
  const v4 = top['peers'];
  if (v4 !== undefined) {
    if (isBytes(v4)) {
      offered += v4.length / 6;
      peers.push(...decodePeers(v4, 4));
    } else if (isList(v4)) {
      offered += v4.length;
      for (const entry of v4) {
        const peer = dictPeer(entry);
        if (peer) peers.push(peer);
      }
    } else {
      throw new DecodeError('tracker_reply_type', '`peers` is neither a string nor a list');
    }
  }
  const v6 = top['peers6'];
  if (v6 !== undefined) {
    if (!isBytes(v6)) throw new DecodeError('tracker_reply_type', '`peers6` is not a string');
    offered += v6.length / 18;
    peers.push(...decodePeers(v6, 6));
  }
  // decodePeers checks the multiple-of-6/18 length before we get here, so `offered` is an integer.
  const kept = peers.length > MAX_REPLY_PEERS ? peers.slice(0, MAX_REPLY_PEERS) : peers;

  return {
    kind: 'ok',
    interval: clampInterval(interval ?? DEFAULT_INTERVAL_S),
    minInterval: minInterval === undefined ? undefined : clampInterval(minInterval),
    complete: optionalInt(top['complete'], 'complete'),
    incomplete: optionalInt(top['incomplete'], 'incomplete'),
    warning: warning === undefined ? undefined : text(warning),
    trackerId: trackerId === undefined ? undefined : trackerId.slice(),
    peers: kept,
    droppedPeers: offered - kept.length,
  };
}

/** A non-negative integer or absent; negative or non-integer values reject the reply. */
function optionalInt(v: BValue | undefined, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (!isInt(v)) throw new DecodeError('tracker_reply_type', `\`${key}\` is not an integer`);
  if (v < 0) throw new DecodeError('tracker_reply_range', `\`${key}\` is negative (${v})`);
  return v;
}

function clampInterval(s: number): number {
  return Math.min(MAX_INTERVAL_S, Math.max(MIN_INTERVAL_FLOOR_S, s));
}

/** One entry of a non-compact peer list: `ip` must be an IP literal (never a name we would resolve for a
 *  stranger) and `port` in 1..65535. Anything else drops the entry. */
function dictPeer(entry: BValue): PeerAddress | undefined {
  if (!isDict(entry)) return undefined;
  const ip = entry['ip'];
  const port = entry['port'];
  if (!isBytes(ip) || ip.length > 45 || !isInt(port) || port < 1 || port > 0xffff) return undefined;
  const host = fromUtf8(ip);
  return familyOf(host) === undefined ? undefined : { host, port };
}

/** Tracker text for logs and errors: UTF-8 (lossy), control characters replaced, cut to a bound. */
function text(b: Uint8Array): string {
  const s = fromUtf8(b.subarray(0, MAX_MESSAGE_CHARS * 4)).replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > MAX_MESSAGE_CHARS ? s.slice(0, MAX_MESSAGE_CHARS) : s;
}
