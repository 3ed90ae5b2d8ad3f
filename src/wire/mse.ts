/**
 * Message Stream Encryption / Protocol Encryption (MSE/PE), the handshake libtorrent, Transmission and
 * Vuze open connections with, as sans-I/O state machines: fed received bytes, they return bytes to send
 * and, once the handshake is over, the outcome (crypto selected, torrent matched, initial payload, the RC4
 * states for the rest of the stream). No sockets and no timers: the deadline is the caller's.
 *
 * The exchange (A initiates, B responds; S is the DH secret, SKEY the infohash, HASH is SHA-1):
 *   1 A->B  Ya, PadA
 *   2 B->A  Yb, PadB
 *   3 A->B  HASH('req1',S), HASH('req2',SKEY) xor HASH('req3',S),
 *           ENC_A(VC, crypto_provide, len(PadC), PadC, len(IA)), ENC_A(IA)
 *   4 B->A  ENC_B(VC, crypto_select, len(PadD), PadD), then the payload (ENC_B continued if RC4)
 * B finds step 3 by searching for HASH('req1',S); A finds step 4 by searching for ENC_B(VC). See docs/wire.md.
 * Both roles live here, past 400 lines, because they are two halves of one exchange sharing its constants,
 * key derivation and checks; read side by side, each step's bytes are written and parsed in one place.
 */
import { createDiffieHellman, createHash, type DiffieHellman } from 'node:crypto';
import type { Random } from '../util/random.js';
import { bytesEqual, concatBytes } from '../util/bytes.js';
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
class ReadBuffer {
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

type ResponderState = 'ya' | 'sync' | 'skey' | 'vc' | 'padc' | 'ia' | 'done';

/**
 * Side B. Feed it every byte the initiator sends; it answers step 1 with step 2 as soon as Ya is in, and
 * ends with step 4 and the result. Throws DecodeError (mse_*) on anything that is not a valid handshake
 * for one of our torrents; the caller then closes the connection.
 */
export class MseResponder {
  private state: ResponderState = 'ya';
  private readonly in = new ReadBuffer();
  private readonly privateKey: Uint8Array;
  private readonly dh: MseDh;
  private secret: Uint8Array = new Uint8Array(0);
  private req1: Uint8Array = new Uint8Array(0);
  private infohash: Uint8Array = new Uint8Array(0);
  private decrypt: Rc4 | undefined;
  private encrypt: Rc4 | undefined;
  private selected = 0;
  private padCLength = 0;
  private iaLength = 0;

  constructor(
    private readonly deps: MseDeps,
    private readonly options: MseResponderOptions,
  ) {
    this.privateKey = deps.random.bytes(PRIVATE_KEY_BYTES);
    this.dh = deps.dh ?? nodeDh;
  }

  /** Consumes `chunk`; returns what to send and, at the end, the result. Throws DecodeError. */
  receive(chunk: Uint8Array): MseStep {
    if (this.state === 'done') throw new DecodeError('mse_done', 'handshake already complete');
    this.in.append(chunk);
    const sends: Uint8Array[] = [];
    let result: MseResult | undefined;
    for (;;) {
      const step = this.advance(sends);
      if (step === 'wait') break;
      if (step !== 'next') {
        result = step;
        break;
      }
    }
    return { send: concatBytes(sends), result };
  }

  private advance(sends: Uint8Array[]): 'wait' | 'next' | MseResult {
    switch (this.state) {
      case 'ya': {
        if (this.in.length < DH_KEY_BYTES) return 'wait';
        const ya = this.in.take(DH_KEY_BYTES);
        this.secret = this.dh.secret(this.privateKey, checkPublicKey(ya));
        this.req1 = sha1(ascii('req1'), this.secret);
        sends.push(this.dh.publicKey(this.privateKey), this.deps.random.bytes(padLength(this.deps.random, this.options)));
        this.state = 'sync';
        return 'next';
      }
      case 'sync': {
        const window = RESPONDER_SYNC_WINDOW - DH_KEY_BYTES;
        const at = this.in.find(this.req1, window);
        if (at < 0) {
          if (this.in.length >= window) throw new DecodeError('mse_no_sync', `no HASH('req1', S) within ${RESPONDER_SYNC_WINDOW} bytes`);
          return 'wait';
        }
        this.in.take(at + this.req1.length);
        this.state = 'skey';
        return 'next';
      }
      case 'skey': {
        if (this.in.length < 20) return 'wait';
        const obfuscated = this.in.take(20);
        const req3 = sha1(ascii('req3'), this.secret);
        const req2 = obfuscated.map((b, i) => b ^ (req3[i] as number));
        const match = this.options.infohashes().find((ih) => bytesEqual(sha1(ascii('req2'), ih), req2));
        if (match === undefined) throw new DecodeError('mse_unknown_infohash', 'the peer asked for a torrent we do not serve');
        this.infohash = match.slice();
        this.decrypt = rc4Stream('keyA', this.secret, this.infohash);
        this.encrypt = rc4Stream('keyB', this.secret, this.infohash);
        this.state = 'vc';
        return 'next';
      }
      case 'vc': {
        const need = VC_BYTES + 4 + 2;
        if (this.in.length < need) return 'wait';
        const plain = this.decryptor().process(this.in.take(need));
        if (plain.subarray(0, VC_BYTES).some((b) => b !== 0)) throw new DecodeError('mse_bad_vc', 'VC did not decrypt to zeros');
        const provide = readU32(plain, VC_BYTES);
        this.selected = select(provide, this.options.preferPlaintext ?? true);
        this.padCLength = readU16(plain, VC_BYTES + 4);
        if (this.padCLength > MAX_PAD) throw new DecodeError('mse_bad_pad', `len(PadC) ${this.padCLength} > ${MAX_PAD}`);
        this.state = 'padc';
        return 'next';
      }
      case 'padc': {
        if (this.in.length < this.padCLength + 2) return 'wait';
        const plain = this.decryptor().process(this.in.take(this.padCLength + 2));
        this.iaLength = readU16(plain, this.padCLength);
        this.state = 'ia';
        return 'next';
      }
      case 'ia': {
        if (this.in.length < this.iaLength) return 'wait';
        const ia = this.decryptor().process(this.in.take(this.iaLength));
        const encrypt = this.encryptor();
        const pad = padLength(this.deps.random, this.options);
        const step4 = new Uint8Array(VC_BYTES + 4 + 2 + pad);
        writeU32(step4, VC_BYTES, this.selected);
        writeU16(step4, VC_BYTES + 4, pad);
        sends.push(encrypt.process(step4));
        this.state = 'done';
        const rest = this.in.rest();
        const rc4 = this.selected === CRYPTO_RC4;
        if (rc4) this.decryptor().processInPlace(rest);
        return {
          crypto: rc4 ? 'rc4' : 'plaintext',
          infohash: this.infohash,
          payload: concatBytes([ia, rest]),
          cipher: rc4 ? { decrypt: this.decryptor(), encrypt } : undefined,
        };
      }
      case 'done':
        return 'wait';
    }
  }

  private decryptor(): Rc4 {
    if (this.decrypt === undefined) throw new DecodeError('mse_state', 'no key yet');
    return this.decrypt;
  }

  private encryptor(): Rc4 {
    if (this.encrypt === undefined) throw new DecodeError('mse_state', 'no key yet');
    return this.encrypt;
  }
}

type InitiatorState = 'yb' | 'sync' | 'select' | 'padd' | 'done';

/**
 * Side A: opens with `start()` (Ya, PadA), then is fed what the responder sends. Used by our tests against
 * the responder; outbound connections still speak plaintext.
 */
export class MseInitiator {
  private state: InitiatorState = 'yb';
  private readonly in = new ReadBuffer();
  private readonly privateKey: Uint8Array;
  private readonly dh: MseDh;
  private readonly provide: number;
  private decrypt: Rc4 | undefined;
  private encrypt: Rc4 | undefined;
  private encryptedVc: Uint8Array = new Uint8Array(0);
  private selected = 0;
  private padDLength = 0;

  constructor(
    private readonly deps: MseDeps,
    private readonly options: MseInitiatorOptions,
  ) {
    if (options.infohash.length !== 20) throw new RangeError('infohash must be 20 bytes');
    this.privateKey = deps.random.bytes(PRIVATE_KEY_BYTES);
    this.dh = deps.dh ?? nodeDh;
    this.provide = options.provide ?? CRYPTO_PLAINTEXT | CRYPTO_RC4;
  }

  /** Step 1: Ya and PadA. */
  start(): Uint8Array {
    return concatBytes([this.dh.publicKey(this.privateKey), this.deps.random.bytes(padLength(this.deps.random, this.options))]);
  }

  /** Consumes `chunk`; returns what to send and, at the end, the result. Throws DecodeError. */
  receive(chunk: Uint8Array): MseStep {
    if (this.state === 'done') throw new DecodeError('mse_done', 'handshake already complete');
    this.in.append(chunk);
    const sends: Uint8Array[] = [];
    for (;;) {
      const step = this.advance(sends);
      if (step === 'wait') return { send: concatBytes(sends), result: undefined };
      if (step !== 'next') return { send: concatBytes(sends), result: step };
    }
  }

  private advance(sends: Uint8Array[]): 'wait' | 'next' | MseResult {
    const ih = this.options.infohash;
    switch (this.state) {
      case 'yb': {
        if (this.in.length < DH_KEY_BYTES) return 'wait';
        const s = this.dh.secret(this.privateKey, checkPublicKey(this.in.take(DH_KEY_BYTES)));
        this.encrypt = rc4Stream('keyA', s, ih);
        this.decrypt = rc4Stream('keyB', s, ih);
        // The responder's VC, encrypted: what we search for; computing it also moves `decrypt` past it.
        this.encryptedVc = this.decrypt.process(new Uint8Array(VC_BYTES));
        const req3 = sha1(ascii('req3'), s);
        const skey = sha1(ascii('req2'), ih).map((b, i) => b ^ (req3[i] as number));
        const ia = this.options.initialPayload ?? new Uint8Array(0);
        if (ia.length > MAX_INITIAL_PAYLOAD) throw new RangeError('initial payload too large');
        const pad = padLength(this.deps.random, this.options);
        const plain = new Uint8Array(VC_BYTES + 4 + 2 + pad + 2 + ia.length);
        writeU32(plain, VC_BYTES, this.provide);
        writeU16(plain, VC_BYTES + 4, pad);
        writeU16(plain, VC_BYTES + 6 + pad, ia.length);
        plain.set(ia, VC_BYTES + 8 + pad);
        sends.push(sha1(ascii('req1'), s), skey, this.encrypt.process(plain));
        this.state = 'sync';
        return 'next';
      }
      case 'sync': {
        const window = INITIATOR_SYNC_WINDOW - DH_KEY_BYTES;
        const at = this.in.find(this.encryptedVc, window);
        if (at < 0) {
          if (this.in.length >= window) throw new DecodeError('mse_no_sync', `no ENCRYPT(VC) within ${INITIATOR_SYNC_WINDOW} bytes`);
          return 'wait';
        }
        this.in.take(at + VC_BYTES);
        this.state = 'select';
        return 'next';
      }
      case 'select': {
        if (this.in.length < 6) return 'wait';
        const plain = this.decryptor().process(this.in.take(6));
        this.selected = readU32(plain, 0);
        if ((this.selected !== CRYPTO_PLAINTEXT && this.selected !== CRYPTO_RC4) || (this.selected & this.provide) === 0) {
          throw new DecodeError('mse_bad_select', `crypto_select ${this.selected} is not one of the offered ${this.provide}`);
        }
        this.padDLength = readU16(plain, 4);
        if (this.padDLength > MAX_PAD) throw new DecodeError('mse_bad_pad', `len(PadD) ${this.padDLength} > ${MAX_PAD}`);
        this.state = 'padd';
        return 'next';
      }
      case 'padd': {
        if (this.in.length < this.padDLength) return 'wait';
        this.decryptor().process(this.in.take(this.padDLength));
        this.state = 'done';
        const rest = this.in.rest();
        const rc4 = this.selected === CRYPTO_RC4;
        if (rc4) this.decryptor().processInPlace(rest);
        const encrypt = this.encrypt;
        return {
          crypto: rc4 ? 'rc4' : 'plaintext',
          infohash: ih.slice(),
          payload: rest,
          cipher: rc4 && encrypt !== undefined ? { decrypt: this.decryptor(), encrypt } : undefined,
        };
      }
      case 'done':
        return 'wait';
    }
  }

  private decryptor(): Rc4 {
    if (this.decrypt === undefined) throw new DecodeError('mse_state', 'no key yet');
    return this.decrypt;
  }
}

/** The responder's choice: plaintext when offered (and preferred), else RC4; neither offered is an error. */
function select(provide: number, preferPlaintext: boolean): number {
  const plain = (provide & CRYPTO_PLAINTEXT) !== 0;
  const rc4 = (provide & CRYPTO_RC4) !== 0;
  if (plain && (preferPlaintext || !rc4)) return CRYPTO_PLAINTEXT;
  if (rc4) return CRYPTO_RC4;
  throw new DecodeError('mse_no_crypto', `crypto_provide ${provide} offers neither plaintext nor RC4`);
}

/** Rejects public keys outside [2, P-2]: 0, 1 and P-1 would make the shared secret guessable. */
function checkPublicKey(y: Uint8Array): Uint8Array {
  const v = toBigInt(y);
  if (v < 2n || v > PRIME_BIG - 2n) throw new DecodeError('mse_bad_key', 'DH public key out of range');
  return y;
}

function padLength(random: Random, options: MseOptions): number {
  if (options.padLength !== undefined) {
    if (!Number.isInteger(options.padLength) || options.padLength < 0 || options.padLength > MAX_PAD) throw new RangeError(`pad length ${options.padLength}`);
    return options.padLength;
  }
  return random.int(MAX_PAD + 1);
}

/** RC4 keyed with HASH(name, S, SKEY), first RC4_DISCARD bytes dropped. */
function rc4Stream(name: 'keyA' | 'keyB', secret: Uint8Array, skey: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(ascii(name), secret, skey));
  rc4.discard(RC4_DISCARD);
  return rc4;
}

function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);
}
function readU16(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at);
}
function writeU32(b: Uint8Array, at: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v);
}
function writeU16(b: Uint8Array, at: number, v: number): void {
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
