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
 * This file has side B, the responder, which our listener runs; side A, the initiator, is in
 * mse-initiator.ts, and what both share in mse-core.ts (re-exported here).
 */
import { bytesEqual, concatBytes } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';
import type { Rc4 } from './rc4.js';
import {
  DH_KEY_BYTES, PRIVATE_KEY_BYTES, MAX_PAD, VC_BYTES, CRYPTO_RC4, RESPONDER_SYNC_WINDOW, type MseResult,
  type MseStep, type MseDh, nodeDh, type MseResponderOptions, type MseDeps, ReadBuffer, select,
  checkPublicKey, padLength, rc4Stream, sha1, ascii, readU32, readU16, writeU32, writeU16,
} from './mse-core.js';

export * from './mse-core.js';
export { MseInitiator } from './mse-initiator.js';

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
