/**
 * The BEP 10 extension protocol: the extended handshake (extended id 0), a bencoded dictionary whose `m`
 * maps extension names to the message ids the *sender* wants to receive them on, and the per-connection
 * registry of both sides' ids.
 *
 * Policy on hostile input: `m` must be a dictionary of integers 0..255 (0 disables an extension, BEP 10) and
 * `metadata_size` an integer 1..MAX_METADATA_SIZE, else the handshake is a violation. The advisory fields
 * (`v`, `p`, `reqq`, `yourip`) are dropped when malformed rather than failing the connection, since they
 * change nothing we rely on. Unknown keys are ignored (BEP 10 requires it).
 */
import { decode, encode, isBytes, isDict, isInt, type EncodableValue } from '../codec/bencode.js';
import { DecodeError } from '../util/errors.js';
import { fromUtf8 } from '../util/bytes.js';

/** BEP 10: extended message id 0 is the handshake. */
export const EXTENDED_HANDSHAKE_ID = 0;
/** BEP 9 metadata cap: libtorrent refuses metadata over 4 MiB by default; 16 MiB fits the largest real torrents. */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024;
/** The ids we ask peers to use for extensions we speak (any 1..255 would do; these match libtorrent's). */
export const OUR_EXTENSION_IDS: Readonly<Record<string, number>> = { ut_metadata: 2 };
/** Client name we put in `v`. */
export const CLIENT_VERSION = 'dht-node 0.1.0';
/** `v` longer than this is dropped: it is only for logs. */
const MAX_VERSION_LENGTH = 128;

export interface ExtendedHandshake {
  /** Extension name -> message id (0 = the sender disables that extension). */
  readonly m: ReadonlyMap<string, number>;
  readonly v?: string | undefined;
  /** The sender's TCP listen port. */
  readonly p?: number | undefined;
  /** How many outstanding requests the sender will queue for us (libtorrent default 250). */
  readonly reqq?: number | undefined;
  /** BEP 9: size of the info dictionary in bytes. */
  readonly metadataSize?: number | undefined;
  /** Our address as the sender sees it: 4 (IPv4) or 16 (IPv6) bytes, a copy. */
  readonly yourip?: Uint8Array | undefined;
}

export interface ExtendedHandshakeInput {
  readonly m: Readonly<Record<string, number>>;
  readonly v?: string | undefined;
  readonly p?: number | undefined;
  readonly reqq?: number | undefined;
  readonly metadataSize?: number | undefined;
  readonly yourip?: Uint8Array | undefined;
}

/** Encodes the handshake dictionary (the payload after the extended id 0). */
export function encodeExtendedHandshake(h: ExtendedHandshakeInput): Uint8Array {
  const m: Record<string, EncodableValue> = {};
  for (const [name, id] of Object.entries(h.m)) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new DecodeError('wire_ext_bad_id', `extension ${name} id ${id}`);
    m[name] = id;
  }
  const dict: Record<string, EncodableValue | undefined> = {
    m,
    v: h.v,
    p: h.p,
    reqq: h.reqq,
    metadata_size: h.metadataSize,
    yourip: h.yourip,
  };
  return encode(dict);
}

/** Decodes and validates the handshake dictionary. Throws DecodeError with a `wire_ext_*` or `bencode_*` code. */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  const d = decode(payload);
  if (!isDict(d)) throw new DecodeError('wire_ext_not_dict', 'extended handshake is not a dictionary');
  const m = new Map<string, number>();
  const rawM = d['m'];
  if (rawM !== undefined) {
    if (!isDict(rawM)) throw new DecodeError('wire_ext_bad_m', '`m` is not a dictionary');
    for (const name of Object.keys(rawM)) {
      const id = rawM[name];
      if (!isInt(id) || id < 0 || id > 255) throw new DecodeError('wire_ext_bad_id', `extension ${name} has id ${String(id)}`);
      m.set(name, id);
    }
  }
  let metadataSize: number | undefined;
  const rawSize = d['metadata_size'];
  if (rawSize !== undefined) {
    if (!isInt(rawSize) || rawSize < 1 || rawSize > MAX_METADATA_SIZE) {
      throw new DecodeError('wire_ext_metadata_size', `metadata_size ${String(rawSize)} outside 1..${MAX_METADATA_SIZE}`);
    }
    metadataSize = rawSize;
  }
  const v = d['v'];
  const p = d['p'];
  const reqq = d['reqq'];
  const yourip = d['yourip'];
  return {
    m,
    v: isBytes(v) && v.length <= MAX_VERSION_LENGTH ? fromUtf8(v) : undefined,
    p: isInt(p) && p >= 1 && p <= 0xffff ? p : undefined,
    reqq: isInt(reqq) && reqq >= 1 && reqq <= 0xffff ? reqq : undefined,
    metadataSize,
    yourip: isBytes(yourip) && (yourip.length === 4 || yourip.length === 16) ? yourip.slice() : undefined,
  };
}

/**
 * Both sides' extension ids for one connection. Ours are fixed at construction; theirs change with every
 * extended handshake they send (BEP 10 allows re-sending it to add or disable extensions).
 */
export class ExtensionRegistry {
  private readonly ours: ReadonlyMap<string, number>;
  private readonly oursById: ReadonlyMap<number, string>;
  private readonly theirs = new Map<string, number>();

  constructor(ours: Readonly<Record<string, number>> = OUR_EXTENSION_IDS) {
    const map = new Map<string, number>();
    const byId = new Map<number, string>();
    for (const [name, id] of Object.entries(ours)) {
      if (!Number.isInteger(id) || id < 1 || id > 255 || byId.has(id)) {
        throw new DecodeError('wire_ext_bad_id', `our extension ${name} needs a unique id in 1..255`);
      }
      map.set(name, id);
      byId.set(id, name);
    }
    this.ours = map;
    this.oursById = byId;
  }

  /** Our `m` dictionary, for our handshake. */
  oursAsRecord(): Record<string, number> {
    return Object.fromEntries(this.ours);
  }

  /** Name of the extension a received message id belongs to (peers send with the ids WE assigned). */
  nameForIncoming(id: number): string | undefined {
    return this.oursById.get(id);
  }

  /** Applies a received handshake's `m`: id 0 disables, others set. */
  update(h: ExtendedHandshake): void {
    for (const [name, id] of h.m) {
      if (id === 0) this.theirs.delete(name);
      else this.theirs.set(name, id);
    }
  }

  /** The id to send `name` messages with, or undefined if the peer does not support it. */
  idForOutgoing(name: string): number | undefined {
    return this.theirs.get(name);
  }

  /** Peer-supported extensions, for logs. */
  peerExtensions(): string[] {
    return [...this.theirs.keys()];
  }
}
