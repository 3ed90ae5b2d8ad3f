/**
 * Torrent metainfo (BEP 3): a strict parser for .torrent files and for info dictionaries fetched from
 * peers (BEP 9). The infohash is the SHA-1 of the `info` value's bytes exactly as they appear in the input
 * (decodeWithRawValue), never of a re-encoding: a file with unsorted keys or unknown fields must keep the
 * hash its swarm knows it by.
 *
 * Policy: everything inside `info` decides what bytes land on disk, so it is checked strictly (types,
 * power-of-two piece length within bounds, `pieces` length consistent with the total, safe-integer file
 * lengths, bounded totals, sanitized names; see paths.ts). Fields outside `info` are advisory: a tracker
 * entry of the wrong type is skipped, not fatal, as most clients do. Unknown keys are ignored. BEP 52
 * v2-only torrents are refused; hybrid torrents are read as v1.
 */
import { createHash } from 'node:crypto';
import { decode, decodeWithRawValue, isBytes, isDict, isInt, isList, type BDict, type BValue } from './bencode.js';
import { PathError, sanitizePath, type PathPlatform } from './paths.js';
import { DecodeError } from '../util/errors.js';
import { bytesEqual, toHex } from '../util/bytes.js';

/** BEP 52 sets 16 KiB as the smallest piece and it is the request block size (BEP 3); smaller is abuse. */
export const MIN_PIECE_LENGTH = 16 * 1024;
/** Larger pieces make one bad block cost a huge re-download; no mainstream client makes them. */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
/** 32 TiB: far beyond any real torrent, and keeps every byte offset an exact JS integer. */
export const MAX_TOTAL_LENGTH = 2 ** 45;
/** Bounds the objects one info dictionary can make us allocate. */
export const MAX_FILES = 500_000;
/** A .torrent larger than this is not a torrent (the biggest real ones are a few MiB of piece hashes). */
export const MAX_TORRENT_BYTES = 32 * 1024 * 1024;
/** More trackers than this is spam; the rest are dropped. */
export const MAX_TRACKERS = 200;
/** Length of a tracker URL we keep (longer ones are skipped). */
const MAX_URL_LENGTH = 2048;
/** SHA-1 digest size (BEP 3 `pieces`). */
export const PIECE_HASH_LENGTH = 20;

/** One file of the torrent, in BEP 3 order. */
export interface TorrentFile {
  /**
   * Sanitized path relative to the download folder. Single-file torrents: `[name]`; multi-file:
   * `[name, ...path]` (BEP 3 puts multi-file content in a folder named after the torrent).
   */
  path: string[];
  length: number;
  /** Byte offset of this file in the torrent's concatenated content. */
  offset: number;
  /**
   * BEP 47 padding file (`attr` contains `p`): all zeros, aligning the next file to a piece boundary (as
   * hybrid v1/v2 torrents do). Storage never creates it on disk.
   */
  padding?: boolean;
}

/** What an info dictionary says: enough to store and verify the content. */
export interface InfoDictionary {
  /** SHA-1 of `infoBytes`. */
  infoHash: Uint8Array;
  /** The bencoded info dictionary, exactly as received (served to peers under BEP 9). */
  infoBytes: Uint8Array;
  /** Sanitized torrent name (file name, or folder name for multi-file torrents). */
  name: string;
  pieceLength: number;
  /** Concatenated 20-byte SHA-1 piece hashes; see pieceHash(). */
  pieces: Uint8Array;
  pieceCount: number;
  files: TorrentFile[];
  totalLength: number;
  multiFile: boolean;
  /** BEP 27: peers only from the trackers in the file (no DHT). */
  private: boolean;
}

/** A parsed .torrent file. */
export interface Metainfo extends InfoDictionary {
  /** Tracker tiers (BEP 12 `announce-list`, else `[[announce]]`). */
  announceList: string[][];
  /** All tracker URLs, deduplicated, in tier order. */
  trackers: string[];
  comment?: string;
  createdBy?: string;
  /** Seconds since the epoch. */
  creationDate?: number;
}

export interface ParseOptions {
  /** File-system rules for name sanitizing; defaults to the running platform. */
  platform?: PathPlatform;
}

function fail(code: string, message: string): never {
  throw new DecodeError(code, message);
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const utf8Lossy = new TextDecoder('utf-8', { fatal: false });

/** Text from a byte string: UTF-8, with U+FFFD for invalid sequences (old torrents use legacy encodings). */
function text(b: Uint8Array): string {
  try {
    return utf8Fatal.decode(b);
  } catch {
    return utf8Lossy.decode(b);
  }
}

/** Prefers the `<key>.utf-8` variant that some clients add next to a legacy-encoded value. */
function preferUtf8(dict: BDict, key: string): BValue | undefined {
  const alt = dict[`${key}.utf-8`];
  if (alt !== undefined) {
    if (isBytes(alt)) {
      try {
        utf8Fatal.decode(alt);
        return alt;
      } catch {
        // fall back to the plain key
      }
    } else if (isList(alt) && alt.every(isBytes)) {
      return alt;
    }
  }
  return dict[key];
}

function sanitize(components: string[], platform: PathPlatform | undefined, what: string): string[] {
  try {
    return sanitizePath(components, platform);
  } catch (err) {
    if (err instanceof PathError) {
      const code = err.code === 'path_escape' ? 'metainfo_path_escape' : 'metainfo_bad_path';
      throw new DecodeError(code, `${what}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function fileLength(v: BValue | undefined, what: string): number {
  if (!isInt(v)) fail('metainfo_bad_length', `${what} has no integer length`);
  if (v < 0 || v > MAX_TOTAL_LENGTH) fail('metainfo_bad_length', `${what} has length ${v} outside 0..${MAX_TOTAL_LENGTH}`);
  return v;
}

/**
 * Parses a bencoded info dictionary (from a .torrent or from peers under BEP 9). With `expectedInfoHash`
 * the bytes are verified first and a mismatch throws `metainfo_infohash_mismatch`.
 */
export function parseInfoDictionary(
  infoBytes: Uint8Array,
  options: ParseOptions & { expectedInfoHash?: Uint8Array } = {},
): InfoDictionary {
  if (infoBytes.length > MAX_TORRENT_BYTES) fail('metainfo_too_large', `info dictionary of ${infoBytes.length} bytes`);
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest());
  if (options.expectedInfoHash !== undefined && !bytesEqual(infoHash, options.expectedInfoHash)) {
    fail('metainfo_infohash_mismatch', `info dictionary hashes to ${toHex(infoHash)}, expected ${toHex(options.expectedInfoHash)}`);
  }
  return parseInfoValue(decode(infoBytes), infoBytes.slice(), infoHash, options);
}

function parseInfoValue(info: BValue | undefined, infoBytes: Uint8Array, infoHash: Uint8Array, options: ParseOptions): InfoDictionary {
  if (!isDict(info)) fail('metainfo_no_info', 'info is not a dictionary');
  const platform = options.platform;

  const pieceLength = info['piece length'];
  if (!isInt(pieceLength)) fail('metainfo_bad_piece_length', 'piece length is missing or not an integer');
  if (pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    fail('metainfo_bad_piece_length', `piece length ${pieceLength} is not a power of two in ${MIN_PIECE_LENGTH}..${MAX_PIECE_LENGTH}`);
  }

  const pieces = info.pieces;
  if (pieces === undefined && info['meta version'] === 2) {
    fail('metainfo_v2_only', 'BitTorrent v2-only torrents (BEP 52) are not supported');
  }
  if (!isBytes(pieces)) fail('metainfo_bad_pieces', 'pieces is missing or not a byte string');
  if (pieces.length === 0 || pieces.length % PIECE_HASH_LENGTH !== 0) {
    fail('metainfo_bad_pieces', `pieces is ${pieces.length} bytes, not a positive multiple of ${PIECE_HASH_LENGTH}`);
  }

  const rawName = preferUtf8(info, 'name');
  if (!isBytes(rawName)) fail('metainfo_bad_name', 'name is missing or not a string');
  const name = sanitize([text(rawName)], platform, 'name')[0] as string;

  const files: TorrentFile[] = [];
  let totalLength = 0;
  const multiFile = info.files !== undefined;
  if (multiFile) {
    if (info.length !== undefined) fail('metainfo_ambiguous', 'info has both length and files');
    const list = info.files;
    if (!isList(list) || list.length === 0) fail('metainfo_bad_files', 'files is not a non-empty list');
    if (list.length > MAX_FILES) fail('metainfo_too_many_files', `${list.length} files (max ${MAX_FILES})`);
    const seen = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const entry = list[i];
      if (!isDict(entry)) fail('metainfo_bad_files', `files[${i}] is not a dictionary`);
      const length = fileLength(entry.length, `files[${i}]`);
      const rawPath = preferUtf8(entry, 'path');
      if (!isList(rawPath) || rawPath.length === 0) fail('metainfo_bad_path', `files[${i}].path is not a non-empty list`);
      const parts: string[] = [];
      for (const part of rawPath) {
        if (!isBytes(part)) fail('metainfo_bad_path', `files[${i}].path has a non-string component`);
        parts.push(text(part));
      }
      const path = [name, ...sanitize(parts, platform, `files[${i}].path`)];
      const attr = entry.attr;
      const padding = isBytes(attr) && attr.includes(0x70); // 'p'
      const key = path.join('/');
      // Two entries for one file, or a file used as a folder by another, would make pieces overwrite each
      // other on disk; refuse rather than guess. (Case-only differences are left to the file system.)
      // Padding files never touch the disk and may share a name (libtorrent's `.pad/<size>`).
      if (!padding) {
        if (seen.has(key)) fail('metainfo_duplicate_path', `files[${i}] repeats the path ${JSON.stringify(key)}`);
        seen.add(key);
      }
      files.push(padding ? { path, length, offset: totalLength, padding } : { path, length, offset: totalLength });
      totalLength += length;
      if (totalLength > MAX_TOTAL_LENGTH) fail('metainfo_too_large', `content exceeds ${MAX_TOTAL_LENGTH} bytes`);
    }
    for (const key of seen) {
      for (let cut = key.lastIndexOf('/'); cut > 0; cut = key.lastIndexOf('/', cut - 1)) {
        if (seen.has(key.slice(0, cut))) fail('metainfo_duplicate_path', `${JSON.stringify(key.slice(0, cut))} is both a file and a folder`);
      }
    }
  } else {
    const length = fileLength(info.length, 'info');
    files.push({ path: [name], length, offset: 0 });
    totalLength = length;
  }
  if (totalLength === 0) fail('metainfo_empty', 'torrent has no content (total length 0)');

  const pieceCount = pieces.length / PIECE_HASH_LENGTH;
  const expected = Math.ceil(totalLength / pieceLength);
  if (pieceCount !== expected) {
    fail('metainfo_bad_pieces', `${pieceCount} piece hashes for ${totalLength} bytes in pieces of ${pieceLength} (expected ${expected})`);
  }

  return {
    infoHash,
    infoBytes,
    name,
    pieceLength,
    pieces: pieces.slice(),
    pieceCount,
    files,
    totalLength,
    multiFile,
    private: info.private === 1,
  };
}

function url(v: BValue | undefined): string | undefined {
  if (!isBytes(v) || v.length === 0 || v.length > MAX_URL_LENGTH) return undefined;
  return text(v);
}

function trackers(torrent: BDict): string[][] {
  const tiers: string[][] = [];
  let count = 0;
  const list = torrent['announce-list'];
  if (isList(list)) {
    for (const tier of list) {
      if (!isList(tier)) continue;
      const urls: string[] = [];
      for (const u of tier) {
        const s = url(u);
        if (s !== undefined && count < MAX_TRACKERS) {
          urls.push(s);
          count++;
        }
      }
      if (urls.length > 0) tiers.push(urls);
    }
  }
  // BEP 12: when announce-list is present, announce is ignored.
  if (tiers.length === 0) {
    const single = url(torrent.announce);
    if (single !== undefined) tiers.push([single]);
  }
  return tiers;
}

function optionalText(v: BValue | undefined): string | undefined {
  return isBytes(v) ? text(v) : undefined;
}

/** Parses a .torrent file. Throws DecodeError with a `metainfo_*` or `bencode_*` code. */
export function parseMetainfo(bytes: Uint8Array, options: ParseOptions = {}): Metainfo {
  if (bytes.length > MAX_TORRENT_BYTES) fail('metainfo_too_large', `torrent file of ${bytes.length} bytes (max ${MAX_TORRENT_BYTES})`);
  const { value, raw } = decodeWithRawValue(bytes, 'info');
  if (!isDict(value)) fail('metainfo_not_dict', 'a torrent file is a bencoded dictionary');
  if (raw === undefined) fail('metainfo_no_info', 'torrent has no info dictionary');
  const infoBytes = raw.slice();
  const infoHash = new Uint8Array(createHash('sha1').update(infoBytes).digest());
  const info = parseInfoValue(value.info, infoBytes, infoHash, options);
  const announceList = trackers(value);
  const creationDate = value['creation date'];
  const meta: Metainfo = {
    ...info,
    announceList,
    trackers: [...new Set(announceList.flat())],
  };
  const comment = optionalText(preferUtf8(value, 'comment'));
  if (comment !== undefined) meta.comment = comment;
  const createdBy = optionalText(value['created by']);
  if (createdBy !== undefined) meta.createdBy = createdBy;
  if (isInt(creationDate) && creationDate >= 0) meta.creationDate = creationDate;
  return meta;
}

/** The 20-byte SHA-1 of piece `index` (a view into `pieces`). */
export function pieceHash(info: Pick<InfoDictionary, 'pieces' | 'pieceCount'>, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) throw new RangeError(`piece ${index} out of range`);
  return info.pieces.subarray(index * PIECE_HASH_LENGTH, (index + 1) * PIECE_HASH_LENGTH);
}

/** Length of piece `index`: pieceLength, except the last piece which holds the remainder. */
export function pieceSize(info: Pick<InfoDictionary, 'pieceLength' | 'pieceCount' | 'totalLength'>, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) throw new RangeError(`piece ${index} out of range`);
  if (index < info.pieceCount - 1) return info.pieceLength;
  return info.totalLength - info.pieceLength * (info.pieceCount - 1);
}
