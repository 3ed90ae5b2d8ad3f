/**
 * What both roles of the MSE/PE handshake share (mse.ts has the responder, mse-initiator.ts the initiator):
 * the constants of the exchange, the Diffie-Hellman implementations, the bounded read buffer, key
 * derivation and the small byte helpers. See mse.ts for the exchange itself and docs/wire.md.
 */
import { createDiffieHellman, createHash, type DiffieHellman } from 'node:crypto';
import type { Random } from '../util/random.js';
import { DecodeError } from '../util/errors.js';
import { Rc4 } from './rc4.js';

/** The MSE prime P (768 bits); the generator is 2. */
export const MSE_PRIME = Uint8Array.from(
  Buffer.from(
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
    'hex',
  ),
);
export const MSE_GENERATOR = 2;
/** Ya, Yb and S are sent and hashed as 96 big-endian bytes (the size of P), zero-padded on the left. */
export const DH_KEY_BYTES = 96;
/** Private exponents of 160 bits: the spec asks for at least 128. */
export const PRIVATE_KEY_BYTES = 20;
/** PadA..PadD are 0 to 512 bytes (spec). */
export const MAX_PAD = 512;
/** The verification constant: 8 zero bytes, encrypted, proves both sides derived the same keys. */
export const VC_BYTES = 8;
/** The first 1024 RC4 keystream bytes are dropped (spec: their bias is known). */
export const RC4_DISCARD = 1024;
/** crypto_provide / crypto_select bits. */
export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
/** B gives up when HASH('req1', S) is not within Ya + PadA + 20 bytes of the connection start (spec: 628). */
export const RESPONDER_SYNC_WINDOW = DH_KEY_BYTES + MAX_PAD + 20;
/** A gives up when ENC(VC) is not within Yb + PadB + 8 bytes of the connection start. */
export const INITIATOR_SYNC_WINDOW = DH_KEY_BYTES + MAX_PAD + VC_BYTES;
/** len(IA) is a 16-bit field, so the initial payload is at most 65535 bytes: the buffer bound while waiting. */
export const MAX_INITIAL_PAYLOAD = 0xffff;

/** What the two sides agreed to use after the handshake. */
export type MseCrypto = 'plaintext' | 'rc4';

/** The RC4 streams for the rest of the connection (present only when RC4 was selected). */
export interface MseCipher {
  /** Decrypts what the peer sends next. */
  readonly decrypt: Rc4;
  /** Encrypts what we send next. */
  readonly encrypt: Rc4;
}

/** The end of a handshake. */
export interface MseResult {
  crypto: MseCrypto;
  /** SKEY: the infohash the initiator asked for (the responder matched it among its own). */
  infohash: Uint8Array;
  /**
   * Stream bytes that came with the handshake, decrypted: the initial payload (IA, responder side) then
   * whatever followed it in the same reads. Hand these to the next layer before anything else.
   */
  payload: Uint8Array;
  /** Undefined when plaintext was selected: the rest of the stream is sent as is. */
  cipher: MseCipher | undefined;
}

/** One step's output: bytes to send now, and the result once the handshake is over. */
export interface MseStep {
  send: Uint8Array;
  result: MseResult | undefined;
}

/** The Diffie-Hellman of MSE, injectable so tests can cross-check or count it. */
export interface MseDh {
  /** G^x mod P as DH_KEY_BYTES bytes. */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** Y^x mod P as DH_KEY_BYTES bytes. `peerPublic` is already checked to lie in [2, P-2]. */
  secret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array;
}

let sharedDh: DiffieHellman | undefined;

/**
 * OpenSSL's DH, one object reused for every handshake: building one checks the prime (tens of ms), while
 * setting a key and computing on it costs about 0.1 ms. Calls are synchronous, so sharing it is safe.
 */
export const nodeDh: MseDh = {
  publicKey(privateKey) {
    const dh = getSharedDh();
    dh.setPrivateKey(privateKey);
    return leftPad(dh.generateKeys());
  },
  secret(privateKey, peerPublic) {
    const dh = getSharedDh();
    dh.setPrivateKey(privateKey);
    return leftPad(dh.computeSecret(peerPublic));
  },
};

function getSharedDh(): DiffieHellman {
  sharedDh ??= createDiffieHellman(Buffer.from(MSE_PRIME), MSE_GENERATOR);
  return sharedDh;
}

const PRIME_BIG = toBigInt(MSE_PRIME);

/** The same DH in BigInt arithmetic (about 0.5 ms per exponentiation): a second opinion for tests. */
export const bigintDh: MseDh = {
  publicKey: (x) => fromBigInt(modPow(BigInt(MSE_GENERATOR), toBigInt(x), PRIME_BIG)),
  secret: (x, y) => fromBigInt(modPow(toBigInt(y), toBigInt(x), PRIME_BIG)),
};

/** Options shared by both roles. */
export interface MseOptions {
  /** A fixed pad length for PadA/PadB/PadC/PadD (tests); default a random length in [0, MAX_PAD]. */
  padLength?: number;
}

export interface MseResponderOptions extends MseOptions {
  /** The infohashes we serve; SKEY must be one of them. */
  infohashes(): readonly Uint8Array[];
  /** Whether to choose plaintext when offered (default true: no cipher cost on bulk data). */
  preferPlaintext?: boolean;
}

export interface MseInitiatorOptions extends MseOptions {
  infohash: Uint8Array;
  /** crypto_provide bits; default CRYPTO_PLAINTEXT | CRYPTO_RC4. */
  provide?: number;
  /** IA: sent encrypted inside step 3 (usually the BitTorrent handshake); default empty. */
  initialPayload?: Uint8Array;
}

export interface MseDeps {
  random: Random;
  /** Default nodeDh. */
  dh?: MseDh;
}

/** Bytes received and not yet consumed, appended to without unbounded growth (callers cap what they wait for). */
export class ReadBuffer {
  private buf: Uint8Array = new Uint8Array(0);

  get length(): number {
    return this.buf.length;
  }

  append(chunk: Uint8Array): void {
    if (this.buf.length === 0) {
      this.buf = chunk.slice();
      return;
    }
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf);
    next.set(chunk, this.buf.length);
    this.buf = next;
  }

  /** The first `n` bytes (a copy), removed from the buffer. */
  take(n: number): Uint8Array {
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Where `needle` starts within the first `limit` bytes, or -1. */
  find(needle: Uint8Array, limit: number): number {
    const hay = Buffer.from(this.buf.buffer, this.buf.byteOffset, Math.min(this.buf.length, limit));
    return hay.indexOf(needle);
  }

  rest(): Uint8Array {
    return this.take(this.buf.length);
  }
}

/** The responder's choice: plaintext when offered (and preferred), else RC4; neither offered is an error. */
export function select(provide: number, preferPlaintext: boolean): number {
  const plain = (provide & CRYPTO_PLAINTEXT) !== 0;
  const rc4 = (provide & CRYPTO_RC4) !== 0;
  if (plain && (preferPlaintext || !rc4)) return CRYPTO_PLAINTEXT;
  if (rc4) return CRYPTO_RC4;
  throw new DecodeError('mse_no_crypto', `crypto_provide ${provide} offers neither plaintext nor RC4`);
}

/** Rejects public keys outside [2, P-2]: 0, 1 and P-1 would make the shared secret guessable. */
export function checkPublicKey(y: Uint8Array): Uint8Array {
  const v = toBigInt(y);
  if (v < 2n || v > PRIME_BIG - 2n) throw new DecodeError('mse_bad_key', 'DH public key out of range');
  return y;
}

export function padLength(random: Random, options: MseOptions): number {
  if (options.padLength !== undefined) {
    if (!Number.isInteger(options.padLength) || options.padLength < 0 || options.padLength > MAX_PAD) throw new RangeError(`pad length ${options.padLength}`);
    return options.padLength;
  }
  return random.int(MAX_PAD + 1);
}

/** RC4 keyed with HASH(name, S, SKEY), first RC4_DISCARD bytes dropped. */
export function rc4Stream(name: 'keyA' | 'keyB', secret: Uint8Array, skey: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(ascii(name), secret, skey));
  rc4.discard(RC4_DISCARD);
  return rc4;
}

export function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
}
export function readU16(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at);
}
export function writeU32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v);
}
export function writeU16(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint16(at, v);
}

function leftPad(b: Uint8Array): Uint8Array {
  if (b.length === DH_KEY_BYTES) return new Uint8Array(b);
  const out = new Uint8Array(DH_KEY_BYTES);
  out.set(b.subarray(Math.max(0, b.length - DH_KEY_BYTES)), Math.max(0, DH_KEY_BYTES - b.length));
  return out;
}

function toBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

function fromBigInt(v: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(DH_KEY_BYTES * 2, '0'), 'hex'));
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if ((e & 1n) === 1n) result = (result * b) % mod;
    e >>= 1n;
    b = (b * b) % mod;
  }
  return result;
}
