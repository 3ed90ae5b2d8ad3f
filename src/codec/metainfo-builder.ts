/**
 * Building torrents (BEP 3): an info dictionary from piece hashes and a file list, and the .torrent file
 * around it. Hashing the content is the caller's job (src/app/create.ts streams it); this module only lays
 * out the dictionaries, so it stays pure and is shared by `create` and by `seed` from memory.
 */
import { encode, type EncodableValue } from './bencode.js';
import { PIECE_HASH_LENGTH } from './metainfo.js';
import { DhtNodeError } from '../util/errors.js';

/** One file of a torrent to build: path components below the torrent's folder, and its length. */
export interface BuildFile {
  path: readonly string[];
  length: number;
}

export interface InfoInput {
  /** Torrent name: the file name (single file) or folder name (multi-file). */
  name: string;
  pieceLength: number;
  /** Concatenated 20-byte SHA-1 hashes. */
  pieces: Uint8Array;
  /** Single-file torrent: give `length`; multi-file: give `files` (BEP 3 order). */
  length?: number;
  files?: readonly BuildFile[];
  /** BEP 27 private flag. */
  private?: boolean;
}

export interface TorrentInput {
  /** The info dictionary (from createInfo) or its exact encoded bytes. */
  info: EncodableValue | Uint8Array;
  trackers?: readonly string[];
  comment?: string;
  createdBy?: string;
  /** Seconds since the epoch. */
  creationDate?: number;
}

/** Builds a BEP 3 info dictionary. Throws `build_invalid` on an inconsistent input. */
export function createInfo(input: InfoInput): EncodableValue {
  if (input.pieces.length % PIECE_HASH_LENGTH !== 0) throw new DhtNodeError('build_invalid', 'pieces is not a multiple of 20 bytes');
  if ((input.length === undefined) === (input.files === undefined)) {
    throw new DhtNodeError('build_invalid', 'give exactly one of length (single file) and files (multi-file)');
  }
  const info: Record<string, EncodableValue | undefined> = {
    name: input.name,
    'piece length': input.pieceLength,
    pieces: input.pieces,
    private: input.private === true ? 1 : undefined,
  };
  if (input.length !== undefined) info.length = input.length;
  else info.files = (input.files ?? []).map((f) => ({ length: f.length, path: [...f.path] }));
  return info;
}

/**
 * Encodes a .torrent file. When `info` is given as bytes they are spliced in verbatim, so the infohash of
 * a torrent rebuilt from a peer's metadata never changes.
 */
export function encodeTorrent(input: TorrentInput): Uint8Array {
  const infoBytes = input.info instanceof Uint8Array ? input.info : encode(input.info);
  const trackers = input.trackers ?? [];
  const outer: Record<string, EncodableValue | undefined> = {
    announce: trackers[0],
    // BEP 12: one tracker per tier, tried in order.
    'announce-list': trackers.length > 1 ? trackers.map((t) => [t]) : undefined,
    comment: input.comment,
    'created by': input.createdBy,
    'creation date': input.creationDate,
  };
  // Keys sort before and after "info" (BEP 3 wants sorted keys); splice the raw info bytes between them.
  const before: Record<string, EncodableValue | undefined> = {};
  const after: Record<string, EncodableValue | undefined> = {};
  for (const [k, v] of Object.entries(outer)) {
    if (v === undefined) continue;
    if (Buffer.compare(Buffer.from(k), Buffer.from('info')) < 0) before[k] = v;
    else after[k] = v;
  }
  const head = encode(before);
  const tail = encode(after);
  // Strip the outer "d...e" of each part and join: d <before> 4:info <info> <after> e
  const key = new TextEncoder().encode('4:info');
  const out = new Uint8Array(1 + (head.length - 2) + key.length + infoBytes.length + (tail.length - 2) + 1);
  let pos = 0;
  out[pos++] = 0x64; // 'd'
  out.set(head.subarray(1, head.length - 1), pos);
  pos += head.length - 2;
  out.set(key, pos);
  pos += key.length;
  out.set(infoBytes, pos);
  pos += infoBytes.length;
  out.set(tail.subarray(1, tail.length - 1), pos);
  pos += tail.length - 2;
  out[pos] = 0x65; // 'e'
  return out;
}
