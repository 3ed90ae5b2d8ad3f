/**
 * KRPC messages (BEP 5 "KRPC Protocol"), typed. Every datagram decodes to a `KrpcMessage` or throws a
 * `KrpcDecodeError`; the error carries the transaction id when one was readable, so a malformed query can
 * still be answered with error 203 and the reason (docs/malformed-input.md).
 *
 * Queries are validated against a declarative schema (QUERY_SCHEMA): one table of key, type and size per
 * method, checked by one function. Responses cannot be typed by method from their own bytes (KRPC replies do
 * not name the method), so every known response key is validated where present and the RPC layer checks
 * that what a method needs is there.
 */
import { decode, encode, isBytes, isDict, isInt, isList, type BDict, type BValue, type EncodableValue } from '../codec/bencode.js';
import {
  decodeNodes,
  decodePeer,
  encodeNodes,
  encodePeer,
  ID_LENGTH,
  type CompactNodeInfo,
  type PeerAddress,
} from '../codec/compact.js';
import { DecodeError } from '../util/errors.js';
import { writeResponse } from './response-writer.js';
import { latin1 } from '../util/bytes.js';

/** BEP 5 error codes. */
export const KRPC_ERROR = {
  generic: 201,
  server: 202,
  protocol: 203,
  methodUnknown: 204,
} as const;

/** Longest transaction id we accept; clients use 1-4 bytes (libtorrent 2, uTorrent 4). */
export const MAX_TRANSACTION_ID_LENGTH = 16;
/** Longest token we accept in announce_peer; clients use 4-20 bytes (BEP 5 leaves it open). */
export const MAX_TOKEN_LENGTH = 64;
/** Longest `v` client version we keep. */
export const MAX_VERSION_LENGTH = 16;
/** Longest method name we echo into logs and counters. */
const MAX_METHOD_LENGTH = 32;
/** More `values` entries than any well-formed reply carries (a 1,500-byte datagram holds ~180). */
const MAX_VALUES = 512;

export type QueryMethod = 'ping' | 'find_node' | 'get_peers' | 'announce_peer';

interface QueryBase {
  kind: 'query';
  /** Transaction id, copied out of the datagram. */
  t: Uint8Array;
  /** Sender's node id. */
  id: Uint8Array;
  /** BEP 43: the sender is read-only and must not be added to routing tables. */
  readOnly: boolean;
  /** BEP 32: address families the sender wants nodes for. */
  want: { v4: boolean; v6: boolean } | undefined;
  /** Client version (`v`), if sent. */
  version: Uint8Array | undefined;
}

export type KrpcQuery =
  | (QueryBase & { method: 'ping' })
  | (QueryBase & { method: 'find_node'; target: Uint8Array })
  | (QueryBase & { method: 'get_peers'; infoHash: Uint8Array })
  | (QueryBase & {
      method: 'announce_peer';
      infoHash: Uint8Array;
      /** The announced port; with impliedPort the caller uses the packet's source port instead. */
      port: number;
      impliedPort: boolean;
      token: Uint8Array;
    })
  /** A method we do not know. libtorrent answers one carrying `target` or `info_hash` like find_node. */
  | (QueryBase & { method: 'unknown'; name: string; target: Uint8Array | undefined });

export interface KrpcResponseBody {
  id: Uint8Array;
  nodes: CompactNodeInfo[] | undefined;
  nodes6: CompactNodeInfo[] | undefined;
  values: PeerAddress[] | undefined;
  token: Uint8Array | undefined;
}

export interface KrpcResponse {
  kind: 'response';
  t: Uint8Array;
  body: KrpcResponseBody;
  /** BEP 42: how the responder sees our address. */
  ip: PeerAddress | undefined;
  version: Uint8Array | undefined;
}

export interface KrpcError {
  kind: 'error';
  t: Uint8Array;
  code: number;
  message: string;
  ip: PeerAddress | undefined;
}

export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcError;

/** A datagram that does not decode. `t` is set when a transaction id was readable (so 203 can be sent). */
export class KrpcDecodeError extends DecodeError {
  constructor(
    code: string,
    message: string,
    readonly t: Uint8Array | undefined,
    readonly isQuery: boolean,
  ) {
    super(code, message);
  }
}

// ---- the declarative query schema ----

type FieldSpec =
  | { key: string; type: 'bytes'; size?: number; maxSize?: number; optional?: boolean }
  | { key: string; type: 'int'; min: number; max: number; optional?: boolean };

/** What each method's `a` dictionary must hold (besides `id`, which every query carries). */
export const QUERY_SCHEMA: Record<QueryMethod, readonly FieldSpec[]> = {
  ping: [],
  find_node: [{ key: 'target', type: 'bytes', size: ID_LENGTH }],
  get_peers: [{ key: 'info_hash', type: 'bytes', size: ID_LENGTH }],
  announce_peer: [
    { key: 'info_hash', type: 'bytes', size: ID_LENGTH },
    { key: 'token', type: 'bytes', maxSize: MAX_TOKEN_LENGTH },
    // Checked again after reading implied_port: port 0 is acceptable only when implied_port is 1.
    { key: 'port', type: 'int', min: 0, max: 65535, optional: true },
    { key: 'implied_port', type: 'int', min: 0, max: 1, optional: true },
  ],
};

const COMMON_FIELDS: readonly FieldSpec[] = [{ key: 'id', type: 'bytes', size: ID_LENGTH }];

/** Checks `args` against a field list; returns the reason for the first mismatch, or undefined. */
function checkFields(args: BDict, fields: readonly FieldSpec[]): string | undefined {
  for (const f of fields) {
    const v = args[f.key];
    if (v === undefined) {
      if (f.optional) continue;
      return `missing "${f.key}"`;
    }
    if (f.type === 'bytes') {
      if (!isBytes(v)) return `"${f.key}" must be a string`;
      if (f.size !== undefined && v.length !== f.size) return `"${f.key}" must be ${f.size} bytes, got ${v.length}`;
      if (f.maxSize !== undefined && v.length > f.maxSize) return `"${f.key}" longer than ${f.maxSize} bytes`;
    } else {
      if (!isInt(v)) return `"${f.key}" must be an integer`;
      if (v < f.min || v > f.max) return `"${f.key}" out of range ${f.min}..${f.max}`;
    }
  }
  return undefined;
}

function optionalBytes(d: BDict, key: string, max: number): Uint8Array | undefined {
  const v = d[key];
  return isBytes(v) && v.length <= max ? v.slice() : undefined;
}

/** BEP 42 `ip`: a compact peer of 6 or 18 bytes at the top level of replies. Malformed ones are ignored. */
function readIp(d: BDict): PeerAddress | undefined {
  const v = d.ip;
  if (!isBytes(v)) return undefined;
  try {
    return decodePeer(v);
  } catch {
    return undefined;
  }
}

function readWant(a: BDict): { v4: boolean; v6: boolean } | undefined {
  const w = a.want;
  if (!isList(w)) return undefined;
  const names = w.filter(isBytes).map(latin1);
  return { v4: names.includes('n4'), v6: names.includes('n6') };
}

function fail(code: string, reason: string, t: Uint8Array | undefined, isQuery: boolean): never {
  throw new KrpcDecodeError(code, reason, t, isQuery);
}

function decodeQuery(msg: BDict, t: Uint8Array): KrpcQuery {
  const q = msg.q;
  if (!isBytes(q)) fail('krpc_no_method', 'query without a method name', t, true);
  const name = latin1(q.subarray(0, MAX_METHOD_LENGTH));
  const a = msg.a;
  if (!isDict(a)) fail('krpc_no_args', `query "${name}" without an argument dictionary`, t, true);
  const commonReason = checkFields(a, COMMON_FIELDS);
  if (commonReason) fail('krpc_bad_args', commonReason, t, true);
  const id = (a.id as Uint8Array).slice();
  const readOnly = msg.ro === 1;
  const want = readWant(a);
  const version = optionalBytes(msg, 'v', MAX_VERSION_LENGTH);
  if (!(name in QUERY_SCHEMA)) {
    // BEP 5 leaves unknown methods to 204, but a query that carries a target is usefully answered like
    // find_node (libtorrent does this, which lets newer extensions still make progress through us).
    const target = a.target ?? a.info_hash;
    const t20 = isBytes(target) && target.length === ID_LENGTH ? target.slice() : undefined;
    return { kind: 'query', t, id, readOnly, want, version, method: 'unknown', name, target: t20 };
  }
  const method = name as QueryMethod;
  const reason = checkFields(a, QUERY_SCHEMA[method]);
  if (reason) fail('krpc_bad_args', `${method}: ${reason}`, t, true);
  // Object literals, not spreads: this runs for every query a busy node receives.
  switch (method) {
    case 'ping':
      return { kind: 'query', t, id, readOnly, want, version, method };
    case 'find_node':
      return { kind: 'query', t, id, readOnly, want, version, method, target: (a.target as Uint8Array).slice() };
    case 'get_peers':
      return { kind: 'query', t, id, readOnly, want, version, method, infoHash: (a.info_hash as Uint8Array).slice() };
    case 'announce_peer': {
      const impliedPort = a.implied_port === 1;
      const port = isInt(a.port) ? a.port : 0;
      if (!impliedPort && port === 0) fail('krpc_bad_args', 'announce_peer: "port" must be 1..65535 without implied_port', t, true);
      return { kind: 'query', t, id, readOnly, want, version, method, infoHash: (a.info_hash as Uint8Array).slice(), port, impliedPort, token: (a.token as Uint8Array).slice() };
    }
  }
}

function decodeResponse(msg: BDict, t: Uint8Array): KrpcResponse {
  const r = msg.r;
  if (!isDict(r)) fail('krpc_no_body', 'response without an "r" dictionary', t, false);
  const id = r.id;
  if (!isBytes(id) || id.length !== ID_LENGTH) fail('krpc_bad_id', 'response "id" must be 20 bytes', t, false);
  let nodes: CompactNodeInfo[] | undefined;
  let nodes6: CompactNodeInfo[] | undefined;
  let values: PeerAddress[] | undefined;
  try {
    if (r.nodes !== undefined) {
      if (!isBytes(r.nodes)) fail('krpc_bad_nodes', '"nodes" must be a string', t, false);
      nodes = decodeNodes(r.nodes, 4);
    }
    if (r.nodes6 !== undefined) {
      if (!isBytes(r.nodes6)) fail('krpc_bad_nodes', '"nodes6" must be a string', t, false);
      nodes6 = decodeNodes(r.nodes6, 6);
    }
    if (r.values !== undefined) values = readValues(r.values, t);
  } catch (err) {
    if (err instanceof KrpcDecodeError) throw err;
    fail('krpc_bad_compact', (err as Error).message, t, false);
  }
  const token = r.token;
  if (token !== undefined && (!isBytes(token) || token.length > MAX_TOKEN_LENGTH)) fail('krpc_bad_token', 'bad "token"', t, false);
  return {
    kind: 'response',
    t,
    body: { id: id.slice(), nodes, nodes6, values, token: token?.slice() },
    ip: readIp(msg),
    version: optionalBytes(msg, 'v', MAX_VERSION_LENGTH),
  };
}

/** `values` is a list of compact peers (6 or 18 bytes each); bad entries cost only themselves. */
function readValues(v: BValue, t: Uint8Array): PeerAddress[] {
  if (!isList(v)) fail('krpc_bad_values', '"values" must be a list', t, false);
  const out: PeerAddress[] = [];
  for (const item of v.slice(0, MAX_VALUES)) {
    if (!isBytes(item)) continue;
    try {
      out.push(decodePeer(item));
    } catch {
      // wrong length or port 0
    }
  }
  return out;
}

function decodeErrorMessage(msg: BDict, t: Uint8Array): KrpcError {
  const e = msg.e;
  if (!isList(e) || !isInt(e[0])) fail('krpc_bad_error', 'error without [code, message]', t, false);
  const text = isBytes(e[1]) ? latin1(e[1].subarray(0, 200)) : '';
  return { kind: 'error', t, code: e[0], message: text, ip: readIp(msg) };
}

/** Decodes one datagram. Throws KrpcDecodeError (never anything else) when it is not valid KRPC. */
export function decodeMessage(datagram: Uint8Array): KrpcMessage {
  let value: BValue;
  try {
    value = decode(datagram);
  } catch (err) {
    throw new KrpcDecodeError((err as DecodeError).code ?? 'bencode', (err as Error).message, undefined, false);
  }
  if (!isDict(value)) fail('krpc_not_dict', 'message is not a dictionary', undefined, false);
  const tRaw = value.t;
  if (!isBytes(tRaw) || tRaw.length === 0 || tRaw.length > MAX_TRANSACTION_ID_LENGTH) {
    fail('krpc_bad_transaction', 'missing or oversized transaction id', undefined, value.y !== undefined && isBytes(value.y) && value.y[0] === 0x71);
  }
  const t = tRaw.slice();
  const y = value.y;
  if (!isBytes(y) || y.length !== 1) fail('krpc_bad_type', 'missing message type "y"', t, false);
  switch (y[0]) {
    case 0x71: // 'q'
      return decodeQuery(value, t);
    case 0x72: // 'r'
      return decodeResponse(value, t);
    case 0x65: // 'e'
      return decodeErrorMessage(value, t);
    default:
      return fail('krpc_bad_type', `unknown message type "${latin1(y)}"`, t, false);
  }
}

// ---- encoding ----

export interface EncodeContext {
  /** Our `v` version, e.g. "DN" + 2 version bytes. */
  version: Uint8Array;
}

export type QueryArgs =
  | { method: 'ping' }
  | { method: 'find_node'; target: Uint8Array; want?: ('n4' | 'n6')[] }
  | { method: 'get_peers'; infoHash: Uint8Array; want?: ('n4' | 'n6')[] }
  | { method: 'announce_peer'; infoHash: Uint8Array; port: number; impliedPort: boolean; token: Uint8Array };

export function encodeQuery(t: Uint8Array, id: Uint8Array, args: QueryArgs, ctx: EncodeContext, readOnly = false): Uint8Array {
  let a: Record<string, EncodableValue | undefined>;
  switch (args.method) {
    case 'ping':
      a = { id };
      break;
    case 'find_node':
      a = { id, target: args.target, want: args.want };
      break;
    case 'get_peers':
      a = { id, info_hash: args.infoHash, want: args.want };
      break;
    case 'announce_peer':
      a = { id, info_hash: args.infoHash, port: args.port, token: args.token, implied_port: args.impliedPort ? 1 : 0 };
      break;
  }
  return encode({ t, y: 'q', q: args.method, a, v: ctx.version, ro: readOnly ? 1 : undefined });
}

/** What a handler answers with; encodeResponse fills in the compact forms. */
export interface ResponseFields {
  id: Uint8Array;
  /** Nodes as objects, or already in compact form (a bootstrap node's hot path). */
  nodes?: readonly CompactNodeInfo[] | Uint8Array;
  nodes6?: readonly CompactNodeInfo[];
  values?: readonly PeerAddress[];
  token?: Uint8Array;
}

/** Encodes a response (the hot path: see response-writer.ts, which writes the same bytes in one pass). */
export function encodeResponse(t: Uint8Array, fields: ResponseFields, requester: PeerAddress, ctx: EncodeContext): Uint8Array {
  return writeResponse(t, fields, requester, ctx);
}

/** The same response through the generic encoder: the reference the fast writer is tested against. */
export function encodeResponseGeneric(t: Uint8Array, fields: ResponseFields, requester: PeerAddress, ctx: EncodeContext): Uint8Array {
  const r: Record<string, EncodableValue | undefined> = { id: fields.id };
  if (fields.nodes !== undefined) r.nodes = fields.nodes instanceof Uint8Array ? fields.nodes : encodeNodes(fields.nodes, 4);
  if (fields.nodes6 !== undefined) r.nodes6 = encodeNodes(fields.nodes6, 6);
  if (fields.token !== undefined) r.token = fields.token;
  if (fields.values !== undefined && fields.values.length > 0) {
    r.values = fields.values.map(encodePeer).filter((p): p is Uint8Array => p !== undefined);
  }
  return encode({ t, y: 'r', r, ip: encodePeer(requester), v: ctx.version });
}

export function encodeError(t: Uint8Array, code: number, message: string, requester: PeerAddress | undefined, ctx: EncodeContext): Uint8Array {
  return encode({ t, y: 'e', e: [code, message], ip: requester ? encodePeer(requester) : undefined, v: ctx.version });
}
