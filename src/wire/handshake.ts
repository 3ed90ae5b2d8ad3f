/**
 * The BitTorrent handshake (BEP 3): `<pstrlen=19><"BitTorrent protocol"><8 reserved><infohash><peer id>`,
 * always exactly 68 bytes. Reserved bits we read and set: the extension protocol (BEP 10, reserved[5] & 0x10)
 * and the DHT (BEP 5, reserved[7] & 0x01). Other reserved bits are preserved on decode and ignored.
 */
import { DecodeError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import { utf8 } from '../util/bytes.js';

/** The protocol string of BEP 3. */
export const PROTOCOL_NAME = 'BitTorrent protocol';
const PROTOCOL_BYTES = utf8(PROTOCOL_NAME);
/** 1 (pstrlen) + 19 (pstr) + 8 (reserved) + 20 (infohash) + 20 (peer id), BEP 3. */
export const HANDSHAKE_LENGTH = 68;
/** Offset of the infohash: the receiver can check it before the peer id arrives. */
export const HANDSHAKE_INFOHASH_OFFSET = 28;
/** SHA-1 length of infohashes and the length of peer ids (BEP 3). */
export const ID_LENGTH = 20;
/** BEP 10: "the bit selected for the extension protocol is bit 20 from the right", i.e. reserved[5] & 0x10. */
const EXTENSION_BYTE = 5;
const EXTENSION_BIT = 0x10;
/** BEP 5: the last reserved bit says the peer runs a DHT node (and may send `port`). */
const DHT_BYTE = 7;
const DHT_BIT = 0x01;

/** Azureus-style client prefix: `-DN0100-` is dht-node 0.1.0.0 (BEP 20). */
export const PEER_ID_PREFIX = '-DN0100-';
/** Characters used for the random part of the peer id: printable, so logs and trackers show it as text. */
const PEER_ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface Handshake {
  readonly infohash: Uint8Array;
  readonly peerId: Uint8Array;
  /** The peer speaks the extension protocol (BEP 10). */
  readonly extensions: boolean;
  /** The peer runs a DHT node (BEP 5). */
  readonly dht: boolean;
  /** All 8 reserved bytes as received (a copy), for logging other clients' capabilities. */
  readonly reserved: Uint8Array;
}

export interface HandshakeInput {
  readonly infohash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly extensions?: boolean;
  readonly dht?: boolean;
}

/** Encodes the 68-byte handshake. Throws a DecodeError if the infohash or peer id is not 20 bytes. */
export function encodeHandshake(h: HandshakeInput): Uint8Array {
  if (h.infohash.length !== ID_LENGTH) throw new DecodeError('wire_bad_infohash', 'infohash must be 20 bytes');
  if (h.peerId.length !== ID_LENGTH) throw new DecodeError('wire_bad_peer_id', 'peer id must be 20 bytes');
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out[0] = PROTOCOL_BYTES.length;
  out.set(PROTOCOL_BYTES, 1);
  if (h.extensions ?? true) out[20 + EXTENSION_BYTE] = EXTENSION_BIT;
  if (h.dht ?? false) out[20 + DHT_BYTE] = DHT_BIT;
  out.set(h.infohash, HANDSHAKE_INFOHASH_OFFSET);
  out.set(h.peerId, HANDSHAKE_INFOHASH_OFFSET + ID_LENGTH);
  return out;
}

/**
 * Checks the first bytes of a handshake as they arrive, so a peer speaking another protocol is dropped
 * after one byte rather than after 68. `bytes` may be any prefix of a handshake.
 */
export function checkHandshakePrefix(bytes: Uint8Array): void {
  if (bytes.length >= 1 && bytes[0] !== PROTOCOL_BYTES.length) {
    throw new DecodeError('wire_bad_protocol', `pstrlen ${bytes[0] ?? 0}, expected 19`);
  }
  const n = Math.min(bytes.length, 20);
  for (let i = 1; i < n; i++) {
    if (bytes[i] !== PROTOCOL_BYTES[i - 1]) throw new DecodeError('wire_bad_protocol', 'protocol string is not "BitTorrent protocol"');
  }
}

/** Decodes exactly 68 bytes. The returned ids are copies, so they never pin the receive buffer. */
export function decodeHandshake(bytes: Uint8Array): Handshake {
  if (bytes.length !== HANDSHAKE_LENGTH) {
    throw new DecodeError('wire_bad_handshake', `handshake of ${bytes.length} bytes, expected ${HANDSHAKE_LENGTH}`);
  }
  checkHandshakePrefix(bytes);
  const reserved = bytes.slice(20, 28);
  return {
    infohash: bytes.slice(HANDSHAKE_INFOHASH_OFFSET, HANDSHAKE_INFOHASH_OFFSET + ID_LENGTH),
    peerId: bytes.slice(HANDSHAKE_INFOHASH_OFFSET + ID_LENGTH, HANDSHAKE_LENGTH),
    extensions: ((reserved[EXTENSION_BYTE] as number) & EXTENSION_BIT) !== 0,
    dht: ((reserved[DHT_BYTE] as number) & DHT_BIT) !== 0,
    reserved,
  };
}

/** A 20-byte Azureus-style peer id: `prefix` (8 ASCII bytes) then 12 random printable characters. */
export function generatePeerId(random: Random, prefix: string = PEER_ID_PREFIX): Uint8Array {
  const head = utf8(prefix);
  if (head.length !== 8) throw new DecodeError('wire_bad_peer_id', 'peer id prefix must be 8 bytes');
  const out = new Uint8Array(ID_LENGTH);
  out.set(head, 0);
  for (let i = head.length; i < ID_LENGTH; i++) {
    out[i] = PEER_ID_ALPHABET.charCodeAt(random.int(PEER_ID_ALPHABET.length));
  }
  return out;
}
