/**
 * BEP 9 `ut_metadata` messages: the info dictionary is fetched from peers in 16 KiB pieces. Each message is
 * a bencoded dictionary `{msg_type, piece[, total_size]}`; a `data` message is followed by the raw piece
 * bytes in the same extended frame, so it is read with decodePrefix.
 *
 * Strictness: `msg_type` 0 (request), 1 (data) and 2 (reject) are known; anything else is a violation.
 * Request and reject must not carry trailing bytes. A data piece must have exactly the length its index
 * implies for `total_size` (16 KiB, the last one shorter); the assembler (metadata-assembler.ts) checks that
 * against the size it expects.
 */
import { decodePrefix, encode, isDict, isInt } from '../codec/bencode.js';
import { DecodeError } from '../util/errors.js';
import { concatBytes } from '../util/bytes.js';
import { MAX_METADATA_SIZE } from './extension.js';

/** BEP 9: metadata is split into pieces of 16 KiB, the last may be smaller. */
export const METADATA_PIECE_SIZE = 16 * 1024;
/** The most pieces a MAX_METADATA_SIZE dictionary has: bounds the `piece` field. */
export const MAX_METADATA_PIECES = Math.ceil(MAX_METADATA_SIZE / METADATA_PIECE_SIZE);

const MSG_REQUEST = 0;
const MSG_DATA = 1;
const MSG_REJECT = 2;

export type MetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  /** `data` is a view into the frame: the assembler copies it into its buffer. */
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: 'reject'; readonly piece: number };

/** Number of metadata pieces for a given size. */
export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_SIZE);
}

/** The exact length piece `piece` must have in metadata of `size` bytes, or undefined if out of range. */
export function metadataPieceLength(size: number, piece: number): number | undefined {
  if (!Number.isInteger(piece) || piece < 0 || piece >= metadataPieceCount(size)) return undefined;
  return Math.min(METADATA_PIECE_SIZE, size - piece * METADATA_PIECE_SIZE);
}

function fail(code: string, reason: string): never {
  throw new DecodeError(code, reason);
}

/** Decodes the payload of an extended message sent on our ut_metadata id. */
export function decodeMetadataMessage(payload: Uint8Array): MetadataMessage {
  const { value, end } = decodePrefix(payload, { maxDepth: 2 });
  if (!isDict(value)) fail('wire_metadata_not_dict', 'ut_metadata message is not a dictionary');
  const msgType = value['msg_type'];
  const piece = value['piece'];
  if (!isInt(msgType)) fail('wire_metadata_bad_type', 'ut_metadata msg_type missing or not an integer');
  if (!isInt(piece) || piece < 0 || piece >= MAX_METADATA_PIECES) {
    fail('wire_metadata_bad_piece', `ut_metadata piece ${String(piece)} out of range`);
  }
  switch (msgType) {
    case MSG_REQUEST:
    case MSG_REJECT:
      if (end !== payload.length) fail('wire_metadata_trailing', `${payload.length - end} bytes after a ut_metadata ${msgType === MSG_REQUEST ? 'request' : 'reject'}`);
      return { type: msgType === MSG_REQUEST ? 'request' : 'reject', piece };
    case MSG_DATA: {
      const totalSize = value['total_size'];
      if (!isInt(totalSize) || totalSize < 1 || totalSize > MAX_METADATA_SIZE) {
        fail('wire_metadata_size', `ut_metadata total_size ${String(totalSize)} outside 1..${MAX_METADATA_SIZE}`);
      }
      const data = payload.subarray(end);
      const expected = metadataPieceLength(totalSize, piece);
      if (expected === undefined) fail('wire_metadata_bad_piece', `piece ${piece} beyond total_size ${totalSize}`);
      if (data.length !== expected) fail('wire_metadata_bad_length', `piece ${piece} of ${data.length} bytes, expected ${expected}`);
      return { type: 'data', piece, totalSize, data };
    }
    default:
      return fail('wire_metadata_bad_type', `unknown ut_metadata msg_type ${msgType}`);
  }
}

/** `{msg_type: 0, piece}`. */
export function encodeMetadataRequest(piece: number): Uint8Array {
  return encode({ msg_type: MSG_REQUEST, piece });
}

/** `{msg_type: 2, piece}`: we will not send this piece (no metadata yet, or refusing). */
export function encodeMetadataReject(piece: number): Uint8Array {
  return encode({ msg_type: MSG_REJECT, piece });
}

/** `{msg_type: 1, piece, total_size}` followed by the piece bytes. */
export function encodeMetadataData(piece: number, totalSize: number, data: Uint8Array): Uint8Array {
  return concatBytes([encode({ msg_type: MSG_DATA, piece, total_size: totalSize }), data]);
}

/**
 * The serving side: our reply payload to a request for `piece` of our metadata `info` (the raw info
 * dictionary bytes), or a reject when we have none or the piece is out of range.
 */
export function serveMetadataPiece(info: Uint8Array | undefined, piece: number): Uint8Array {
  if (info === undefined) return encodeMetadataReject(piece);
  const length = metadataPieceLength(info.length, piece);
  if (length === undefined) return encodeMetadataReject(piece);
  const start = piece * METADATA_PIECE_SIZE;
  return encodeMetadataData(piece, info.length, info.subarray(start, start + length));
}
