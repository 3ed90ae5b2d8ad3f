/**
 * Peer wire messages (BEP 3) plus `port` (BEP 5) and `extended` (BEP 10), as a discriminated union with
 * encoders and a strict decoder. A frame on the wire is `<4-byte big-endian length><id><payload>`; a length of
 * 0 is a keep-alive. The decoder takes the frame body (everything after the length prefix) and checks the
 * exact payload length of every fixed-size message: a peer that sends a 6-byte `have` is broken or hostile,
 * and either way the connection ends (docs/wire.md, violation policy).
 */
import { readU32, writeU32 } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';

/** Message ids (BEP 3 ids 0-8, BEP 5 `port` 9, BEP 10 `extended` 20). */
export const MSG_ID = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  extended: 20,
} as const;

/** The block size every modern client requests (BEP 3 recommends 2^14; larger requests are often refused). */
export const BLOCK_LENGTH = 16 * 1024;
/**
 * The largest block we accept in a `request` or `piece`. Some old clients use 32 or 128 KiB blocks; beyond
 * that a peer is only trying to make us buffer (libtorrent refuses requests above 128 KiB too).
 */
export const MAX_BLOCK_LENGTH = 128 * 1024;
/**
 * The largest BEP 10 payload (after the extended id) we accept: a BEP 9 data message is 16 KiB plus a small
 * dictionary, handshakes are a few hundred bytes; 64 KiB leaves room for verbose clients and ut_pex.
 */
export const MAX_EXTENDED_PAYLOAD = 64 * 1024;

/** A block coordinate: piece index, byte offset in the piece, length. */
export interface BlockRef {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

export type Message =
  | { readonly type: 'keep-alive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'not-interested' }
  | { readonly type: 'have'; readonly index: number }
  /** Raw bitfield bytes, high bit first (BEP 3). A view into the frame. */
  | { readonly type: 'bitfield'; readonly bits: Uint8Array }
  | ({ readonly type: 'request' } & BlockRef)
  /** `block` is a view into the received frame (no copy on the hot path): copy it to keep it. */
  | { readonly type: 'piece'; readonly index: number; readonly begin: number; readonly block: Uint8Array }
  | ({ readonly type: 'cancel' } & BlockRef)
  | { readonly type: 'port'; readonly port: number }
  /** BEP 10: `id` 0 is the extended handshake, others are ids we assigned in ours. `payload` is a view. */
  | { readonly type: 'extended'; readonly id: number; readonly payload: Uint8Array }
  /** An id we do not know (e.g. BEP 6 fast messages, which we never advertise): ignored and counted. */
  | { readonly type: 'unknown'; readonly id: number; readonly length: number };

export type MessageType = Message['type'];

/** Limits the decoder checks beyond fixed lengths. */
export interface DecodeLimits {
  /** When known (after metadata), `bitfield` must be exactly ceil(n/8) bytes with spare bits zero and `have` < n. */
  readonly pieceCount?: number | undefined;
  /** Largest block in `request`, `cancel` and `piece`; defaults to MAX_BLOCK_LENGTH. */
  readonly maxBlockLength?: number | undefined;
}

function fail(code: string, reason: string): never {
  throw new DecodeError(code, reason);
}

function expectLength(body: Uint8Array, expected: number, name: string): void {
  if (body.length !== expected) fail('wire_bad_length', `${name} frame of ${body.length} bytes, expected ${expected}`);
}

/** Checks a bitfield against a piece count: exact length and zero spare bits (BEP 3). */
export function checkBitfield(bits: Uint8Array, pieceCount: number): void {
  const expected = Math.ceil(pieceCount / 8);
  if (bits.length !== expected) fail('wire_bad_length', `bitfield of ${bits.length} bytes, expected ${expected}`);
  const spare = expected * 8 - pieceCount;
  if (spare > 0 && ((bits[expected - 1] as number) & ((1 << spare) - 1)) !== 0) {
    fail('wire_spare_bits', 'bitfield has spare bits set');
  }
}

/** Decodes one frame body (without the length prefix). Throws DecodeError with a `wire_*` code. */
export function decodeMessage(body: Uint8Array, limits: DecodeLimits = {}): Message {
  if (body.length === 0) return { type: 'keep-alive' };
  const id = body[0] as number;
  const maxBlock = limits.maxBlockLength ?? MAX_BLOCK_LENGTH;
  switch (id) {
    case MSG_ID.choke:
      expectLength(body, 1, 'choke');
      return { type: 'choke' };
    case MSG_ID.unchoke:
      expectLength(body, 1, 'unchoke');
      return { type: 'unchoke' };
    case MSG_ID.interested:
      expectLength(body, 1, 'interested');
      return { type: 'interested' };
    case MSG_ID.notInterested:
      expectLength(body, 1, 'not-interested');
      return { type: 'not-interested' };
    case MSG_ID.have: {
      expectLength(body, 5, 'have');
      const index = readU32(body, 1);
      if (limits.pieceCount !== undefined && index >= limits.pieceCount) {
        fail('wire_index_out_of_range', `have ${index} beyond ${limits.pieceCount} pieces`);
      }
      return { type: 'have', index };
    }
    case MSG_ID.bitfield: {
      const bits = body.subarray(1);
      if (limits.pieceCount !== undefined) checkBitfield(bits, limits.pieceCount);
      return { type: 'bitfield', bits };
    }
    case MSG_ID.request:
    case MSG_ID.cancel: {
      const type = id === MSG_ID.request ? 'request' : 'cancel';
      expectLength(body, 13, type);
      const index = readU32(body, 1);
      const begin = readU32(body, 5);
      const length = readU32(body, 9);
      if (length === 0 || length > maxBlock) fail('wire_bad_block_length', `${type} for ${length} bytes`);
      if (limits.pieceCount !== undefined && index >= limits.pieceCount) {
        fail('wire_index_out_of_range', `${type} for piece ${index} beyond ${limits.pieceCount}`);
      }
      return { type, index, begin, length };
    }
    case MSG_ID.piece: {
      if (body.length < 9) fail('wire_bad_length', `piece frame of ${body.length} bytes, expected at least 9`);
      const blockLength = body.length - 9;
      if (blockLength === 0 || blockLength > maxBlock) fail('wire_bad_block_length', `piece with a ${blockLength}-byte block`);
      const index = readU32(body, 1);
      if (limits.pieceCount !== undefined && index >= limits.pieceCount) {
        fail('wire_index_out_of_range', `piece ${index} beyond ${limits.pieceCount}`);
      }
      return { type: 'piece', index, begin: readU32(body, 5), block: body.subarray(9) };
    }
    case MSG_ID.port:
      expectLength(body, 3, 'port');
      return { type: 'port', port: ((body[1] as number) << 8) | (body[2] as number) };
    case MSG_ID.extended: {
      if (body.length < 2) fail('wire_bad_length', 'extended frame without an extended id');
      if (body.length - 2 > MAX_EXTENDED_PAYLOAD) fail('wire_extended_too_large', `extended payload of ${body.length - 2} bytes`);
      return { type: 'extended', id: body[1] as number, payload: body.subarray(2) };
    }
    default:
      return { type: 'unknown', id, length: body.length - 1 };
  }
}

/**
 * A frame of `payloadLength` payload bytes with its length prefix and id written; the caller writes every
 * payload byte. Small frames come from Node's shared Buffer pool: a socket takes such a Buffer as it is,
 * whereas a small Uint8Array of its own lives on V8's heap and is copied off it first (per request sent,
 * per block served: that copy and its garbage were a seeder's largest costs after the kernel's).
 */
function frame(id: number, payloadLength: number): Uint8Array {
  const out = Buffer.allocUnsafe(5 + payloadLength);
  writeU32(out, 0, 1 + payloadLength);
  out[4] = id;
  return out;
}

function checkU32(n: number, name: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new DecodeError('wire_bad_field', `${name} ${n} is not a u32`);
}

/**
 * The 13-byte prefix of a `piece` frame (length, id, index, begin) for a block of `blockLength` bytes; the
 * block itself is written after it, so serving never copies the block into a new buffer.
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Uint8Array {
  checkU32(index, 'index');
  checkU32(begin, 'begin');
  checkU32(blockLength, 'block length');
  // Only the 13 header bytes are allocated (the length field counts the block that follows), each written
  // below, from the shared pool as in frame().
  const out = Buffer.allocUnsafe(13);
  writeU32(out, 0, 9 + blockLength);
  out[4] = MSG_ID.piece;
  writeU32(out, 5, index);
  writeU32(out, 9, begin);
  return out;
}

/** Encodes a whole frame, length prefix included. (`unknown` messages cannot be encoded.) */
export function encodeMessage(msg: Exclude<Message, { type: 'unknown' }>): Uint8Array {
  switch (msg.type) {
    case 'keep-alive':
      return new Uint8Array(4);
    case 'choke':
      return frame(MSG_ID.choke, 0);
    case 'unchoke':
      return frame(MSG_ID.unchoke, 0);
    case 'interested':
      return frame(MSG_ID.interested, 0);
    case 'not-interested':
      return frame(MSG_ID.notInterested, 0);
    case 'have': {
      checkU32(msg.index, 'index');
      const out = frame(MSG_ID.have, 4);
      writeU32(out, 5, msg.index);
      return out;
    }
    case 'bitfield': {
      const out = frame(MSG_ID.bitfield, msg.bits.length);
      out.set(msg.bits, 5);
      return out;
    }
    case 'request':
    case 'cancel': {
      checkU32(msg.index, 'index');
      checkU32(msg.begin, 'begin');
      checkU32(msg.length, 'length');
      const out = frame(msg.type === 'request' ? MSG_ID.request : MSG_ID.cancel, 12);
      writeU32(out, 5, msg.index);
      writeU32(out, 9, msg.begin);
      writeU32(out, 13, msg.length);
      return out;
    }
    case 'piece': {
      const header = encodePieceHeader(msg.index, msg.begin, msg.block.length);
      const out = new Uint8Array(13 + msg.block.length);
      out.set(header, 0);
      out.set(msg.block, 13);
      return out;
    }
    case 'port': {
      if (!Number.isInteger(msg.port) || msg.port < 0 || msg.port > 0xffff) throw new DecodeError('wire_bad_field', `port ${msg.port}`);
      const out = frame(MSG_ID.port, 2);
      out[5] = msg.port >>> 8;
      out[6] = msg.port & 0xff;
      return out;
    }
    case 'extended': {
      if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > 255) throw new DecodeError('wire_bad_field', `extended id ${msg.id}`);
      const out = frame(MSG_ID.extended, 1 + msg.payload.length);
      out[5] = msg.id;
      out.set(msg.payload, 6);
      return out;
    }
  }
}
