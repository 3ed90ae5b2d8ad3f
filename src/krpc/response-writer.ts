/**
 * A dedicated writer for KRPC responses, the hot path of a busy node (every ping, find_node and get_peers
 * answered). It writes the bencoded bytes in one pass into one buffer, with the keys already in the sorted
 * order BEP 3 requires, instead of building an object for the generic encoder. The output is byte for
 * byte what `encode()` produces for the same message (test/krpc/response-writer.test.ts checks it).
 */
import { encodeNodes, encodePeer, type PeerAddress } from '../codec/compact.js';
import type { EncodeContext, ResponseFields } from './messages.js';

const enc = new TextEncoder();
const ascii = (s: string): Uint8Array => enc.encode(s);

const D = 0x64;
const E = 0x65;
const L = 0x6c;
const COLON = 0x3a;
const KEY_IP = ascii('2:ip');
const KEY_R = ascii('1:r');
const KEY_ID = ascii('2:id');
const KEY_NODES = ascii('5:nodes');
const KEY_NODES6 = ascii('6:nodes6');
const KEY_TOKEN = ascii('5:token');
const KEY_VALUES = ascii('6:values');
const KEY_T = ascii('1:t');
const KEY_V = ascii('1:v');
const TAIL_Y_R = ascii('1:y1:re');

/** Decimal digits of a non-negative integer. */
function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length;
}

class Writer {
  pos = 0;
  constructor(readonly out: Uint8Array) {}

  raw(b: Uint8Array): void {
    this.out.set(b, this.pos);
    this.pos += b.length;
  }

  byte(c: number): void {
    this.out[this.pos++] = c;
  }

  /** A bencoded byte string: `<len>:<bytes>`. */
  str(b: Uint8Array): void {
    let n = b.length;
    const len = digits(n);
    for (let i = len - 1; i >= 0; i--) {
      this.out[this.pos + i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.pos += len;
    this.byte(COLON);
    this.raw(b);
  }
}

const strLength = (b: Uint8Array): number => digits(b.length) + 1 + b.length;

/** Encodes a response exactly as `encode({ t, y: 'r', r, ip, v })` would, in one buffer. */
export function writeResponse(t: Uint8Array, fields: ResponseFields, requester: PeerAddress, ctx: EncodeContext): Uint8Array {
  const ip = encodePeer(requester);
  const nodes = fields.nodes === undefined ? undefined : fields.nodes instanceof Uint8Array ? fields.nodes : encodeNodes(fields.nodes, 4);
  const nodes6 = fields.nodes6 === undefined ? undefined : encodeNodes(fields.nodes6, 6);
  const values = fields.values !== undefined && fields.values.length > 0 ? fields.values.map(encodePeer).filter((p): p is Uint8Array => p !== undefined) : undefined;

  let size = 1 + (ip ? KEY_IP.length + strLength(ip) : 0) + KEY_R.length + 1 + KEY_ID.length + strLength(fields.id);
  if (nodes) size += KEY_NODES.length + strLength(nodes);
  if (nodes6) size += KEY_NODES6.length + strLength(nodes6);
  if (fields.token) size += KEY_TOKEN.length + strLength(fields.token);
  if (values) {
    size += KEY_VALUES.length + 2;
    for (const v of values) size += strLength(v);
  }
  size += 1 + KEY_T.length + strLength(t) + KEY_V.length + strLength(ctx.version) + TAIL_Y_R.length;

  const w = new Writer(new Uint8Array(size));
  w.byte(D);
  if (ip) {
    w.raw(KEY_IP);
    w.str(ip);
  }
  w.raw(KEY_R);
  w.byte(D);
  w.raw(KEY_ID);
  w.str(fields.id);
  if (nodes) {
    w.raw(KEY_NODES);
    w.str(nodes);
  }
  if (nodes6) {
    w.raw(KEY_NODES6);
    w.str(nodes6);
  }
  if (fields.token) {
    w.raw(KEY_TOKEN);
    w.str(fields.token);
  }
  if (values) {
    w.raw(KEY_VALUES);
    w.byte(L);
    for (const v of values) w.str(v);
    w.byte(E);
  }
  w.byte(E);
  w.raw(KEY_T);
  w.str(t);
  w.raw(KEY_V);
  w.str(ctx.version);
  w.raw(TAIL_Y_R);
  return w.out;
}
