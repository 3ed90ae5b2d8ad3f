/**
 * Side A of the MSE/PE handshake (mse.ts has the exchange and side B): opens with Ya and PadA, then finds
 * the responder's answer by searching for its encrypted VC. Our outbound connections still speak
 * plaintext; the tests drive the responder with this.
 */
import { concatBytes } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';
import type { Rc4 } from './rc4.js';
import {
  DH_KEY_BYTES, PRIVATE_KEY_BYTES, MAX_PAD, VC_BYTES, CRYPTO_PLAINTEXT, CRYPTO_RC4, INITIATOR_SYNC_WINDOW,
  MAX_INITIAL_PAYLOAD, type MseResult, type MseStep, type MseDh, nodeDh, type MseInitiatorOptions,
  type MseDeps, ReadBuffer, checkPublicKey, padLength, rc4Stream, sha1, ascii, readU32, readU16, writeU32,
  writeU16,
} from './mse-core.js';

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
