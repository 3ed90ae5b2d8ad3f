import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  bigintDh,
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  DH_KEY_BYTES,
  MAX_PAD,
  MseInitiator,
  MseResponder,
  nodeDh,
  RESPONDER_SYNC_WINDOW,
  type MseDh,
  type MseResult,
} from '../../src/wire/mse.js';
import { DecodeError } from '../../src/util/errors.js';
import { SeededRandom } from '../../src/util/random.js';

const IH = new Uint8Array(20).fill(0x11);
const OTHER_IH = new Uint8Array(20).fill(0x22);
const HANDSHAKE = Uint8Array.from('\x13BitTorrent protocol........', (c) => c.charCodeAt(0));

interface Run {
  a: MseResult;
  b: MseResult;
}

/**
 * Runs a whole handshake in memory, delivering each side's output to the other in pieces of `chunk` bytes
 * (1 = byte by byte), until both have a result.
 */
function handshake(opts: {
  provide?: number;
  serve?: Uint8Array[];
  padLength?: number;
  ia?: Uint8Array;
  chunk?: number;
  seed?: number;
  dh?: MseDh;
  preferPlaintext?: boolean;
}): Run {
  const random = new SeededRandom(opts.seed ?? 7);
  const a = new MseInitiator({ random: random.fork(), dh: opts.dh }, { infohash: IH, provide: opts.provide, initialPayload: opts.ia, padLength: opts.padLength });
  const b = new MseResponder(
    { random: random.fork(), dh: opts.dh },
    { infohashes: () => opts.serve ?? [IH], padLength: opts.padLength, preferPlaintext: opts.preferPlaintext },
  );
  let toB = a.start();
  let toA = new Uint8Array(0);
  let ra: MseResult | undefined;
  let rb: MseResult | undefined;
  const chunk = opts.chunk ?? 1 << 20;
  for (let round = 0; round < 10 && (ra === undefined || rb === undefined); round++) {
    for (let i = 0; i < toB.length; i += chunk) {
      const step = b.receive(toB.subarray(i, i + chunk));
      toA = Buffer.concat([toA, step.send]);
      rb ??= step.result;
    }
    toB = new Uint8Array(0);
    for (let i = 0; i < toA.length; i += chunk) {
      const step = a.receive(toA.subarray(i, i + chunk));
      toB = Buffer.concat([toB, step.send]);
      ra ??= step.result;
    }
    toA = new Uint8Array(0);
  }
  if (ra === undefined || rb === undefined) throw new Error('handshake did not finish');
  return { a: ra, b: rb };
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('MSE handshake', () => {
  it('selects plaintext when offered, matches the infohash and delivers the initial payload', () => {
    const r = handshake({ provide: CRYPTO_PLAINTEXT | CRYPTO_RC4, ia: HANDSHAKE, serve: [OTHER_IH, IH] });
    expect(r.a.crypto).toBe('plaintext');
    expect(r.b.crypto).toBe('plaintext');
    expect(r.b.cipher).toBeUndefined();
    expect(Buffer.from(r.b.infohash).equals(Buffer.from(IH))).toBe(true);
    expect(Buffer.from(r.b.payload).equals(Buffer.from(HANDSHAKE))).toBe(true);
  });

  it('selects RC4 when only RC4 is offered, and both cipher pairs line up for the rest of the stream', () => {
    const r = handshake({ provide: CRYPTO_RC4, ia: HANDSHAKE });
    expect(r.a.crypto).toBe('rc4');
    expect(r.b.crypto).toBe('rc4');
    const aCipher = r.a.cipher;
    const bCipher = r.b.cipher;
    if (aCipher === undefined || bCipher === undefined) throw new Error('no cipher');
    const msg = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
    expect(Buffer.from(bCipher.decrypt.process(aCipher.encrypt.process(msg))).equals(Buffer.from(msg))).toBe(true);
    expect(Buffer.from(aCipher.decrypt.process(bCipher.encrypt.process(msg))).equals(Buffer.from(msg))).toBe(true);
    // The wire really is encrypted after the handshake.
    expect(Buffer.from(bCipher.encrypt.process(msg)).equals(Buffer.from(msg))).toBe(false);
  });

  it('selects RC4 over plaintext when told not to prefer plaintext', () => {
    const r = handshake({ provide: CRYPTO_PLAINTEXT | CRYPTO_RC4, preferPlaintext: false });
    expect(r.b.crypto).toBe('rc4');
    expect(r.a.crypto).toBe('rc4');
  });

  it('works with pads of 0 and 512 bytes, and byte by byte', () => {
    for (const padLength of [0, MAX_PAD]) {
      for (const chunk of [1, 7, 1 << 20]) {
        const r = handshake({ padLength, chunk, ia: HANDSHAKE, provide: CRYPTO_RC4 });
        expect(r.b.crypto).toBe('rc4');
        expect(Buffer.from(r.b.payload).equals(Buffer.from(HANDSHAKE))).toBe(true);
      }
    }
  });

  it('hands on bytes that followed the handshake in the same read, decrypted', () => {
    for (const provide of [CRYPTO_PLAINTEXT, CRYPTO_RC4]) {
      // Twins: the same seeds give the same keys and bytes, so the second pair, run to the end, tells
      // how A's cipher continues after step 3 while the first B still waits for it.
      const pair = () => {
        const random = new SeededRandom(3);
        const a = new MseInitiator({ random: random.fork() }, { infohash: IH, provide, initialPayload: HANDSHAKE });
        const b = new MseResponder({ random: random.fork() }, { infohashes: () => [IH] });
        const step3 = a.receive(b.receive(a.start()).send).send;
        return { a, b, step3 };
      };
      const twin = pair();
      const aDone = twin.a.receive(twin.b.receive(twin.step3).send).result;
      const first = pair();
      const after = Uint8Array.from([9, 8, 7]);
      const wire = aDone?.cipher?.encrypt.process(after) ?? after;
      expect(aDone?.crypto).toBe(provide === CRYPTO_RC4 ? 'rc4' : 'plaintext');
      const done = first.b.receive(Buffer.concat([first.step3, wire]));
      expect(Buffer.from(done.result?.payload ?? []).equals(Buffer.concat([HANDSHAKE, after]))).toBe(true);
    }
  });

  it('OpenSSL and BigInt Diffie-Hellman agree', () => {
    const x = new SeededRandom(5).bytes(20);
    const y = nodeDh.publicKey(new SeededRandom(6).bytes(20));
    expect(Buffer.from(nodeDh.publicKey(x)).equals(Buffer.from(bigintDh.publicKey(x)))).toBe(true);
    expect(Buffer.from(nodeDh.secret(x, y)).equals(Buffer.from(bigintDh.secret(x, y)))).toBe(true);
    expect(nodeDh.publicKey(x)).toHaveLength(DH_KEY_BYTES);
    const r = handshake({ dh: bigintDh, provide: CRYPTO_RC4 });
    expect(r.b.crypto).toBe('rc4');
  });

  it('refuses an infohash we do not serve', () => {
    expect(() => handshake({ serve: [OTHER_IH] })).toThrow(DecodeError);
    expectCode(() => handshake({ serve: [] }), 'mse_unknown_infohash');
  });

  it('refuses a crypto_provide with neither method', () => {
    expectCode(() => handshake({ provide: 0x04 }), 'mse_no_crypto');
    expectCode(() => handshake({ provide: 0 }), 'mse_no_crypto');
  });

  it('refuses DH public keys 0, 1, P-1 and anything >= P', () => {
    for (const fill of [0x00, 0xff]) {
      const b = new MseResponder({ random: new SeededRandom(1) }, { infohashes: () => [IH] });
      expectCode(() => b.receive(new Uint8Array(DH_KEY_BYTES).fill(fill)), 'mse_bad_key');
    }
    const one = new Uint8Array(DH_KEY_BYTES);
    one[DH_KEY_BYTES - 1] = 1;
    expectCode(() => new MseResponder({ random: new SeededRandom(1) }, { infohashes: () => [IH] }).receive(one), 'mse_bad_key');
  });

  it('gives up on garbage after a valid-looking Ya: no sync within 628 bytes', () => {
    const random = new SeededRandom(9);
    const b = new MseResponder({ random }, { infohashes: () => [IH] });
    const ya = nodeDh.publicKey(random.bytes(20));
    b.receive(ya);
    // Up to the window's edge, B waits; one byte more and it is over.
    const garbage = new Uint8Array(RESPONDER_SYNC_WINDOW - DH_KEY_BYTES - 1).fill(0x5a);
    expect(b.receive(garbage).result).toBeUndefined();
    expectCode(() => b.receive(Uint8Array.from([0x5a])), 'mse_no_sync');
  });

  it('bounds memory: a flood before sync fails at once, holding no more than that read', () => {
    const random = new SeededRandom(10);
    const b = new MseResponder({ random }, { infohashes: () => [IH] });
    const flood = new Uint8Array(8 << 20).fill(0x42);
    flood.set(nodeDh.publicKey(random.bytes(20)));
    expectCode(() => b.receive(flood), 'mse_no_sync');
  });

  it('refuses a wrong VC (keys that do not match: a peer that lied about S)', () => {
    const random = new SeededRandom(11);
    const a = new MseInitiator({ random: random.fork() }, { infohash: IH });
    const b = new MseResponder({ random: random.fork() }, { infohashes: () => [IH] });
    const step3 = a.receive(b.receive(a.start()).send).send;
    // Flip a bit in the encrypted VC (right after req1 and the obfuscated SKEY).
    step3[40] = (step3[40] as number) ^ 1;
    expectCode(() => b.receive(step3), 'mse_bad_vc');
  });

  it('waits, without a result, on every truncation of a valid handshake', () => {
    const random = new SeededRandom(12);
    const a = new MseInitiator({ random: random.fork() }, { infohash: IH, initialPayload: HANDSHAKE, padLength: 40 });
    const stream = a.start();
    const b1 = new MseResponder({ random: random.fork() }, { infohashes: () => [IH] });
    const step3 = a.receive(b1.receive(stream).send).send;
    const whole = Buffer.concat([stream, step3]);
    // A fresh responder with the same randomness sends the same Yb, so the same step 3 is valid for it.
    for (let cut = 0; cut < whole.length; cut += 13) {
      const replay = new SeededRandom(12);
      replay.fork();
      const b = new MseResponder({ random: replay.fork() }, { infohashes: () => [IH] });
      expect(b.receive(whole.subarray(0, cut)).result).toBeUndefined();
    }
    const replay = new SeededRandom(12);
    replay.fork();
    const b = new MseResponder({ random: replay.fork() }, { infohashes: () => [IH] });
    expect(b.receive(whole).result?.crypto).toBe('plaintext');
  });

  it('the initiator gives up when no ENCRYPT(VC) follows Yb within its window', () => {
    const a = new MseInitiator({ random: new SeededRandom(14) }, { infohash: IH });
    a.start();
    a.receive(nodeDh.publicKey(new SeededRandom(15).bytes(20)));
    expect(a.receive(new Uint8Array(MAX_PAD + 7).fill(0x33)).result).toBeUndefined();
    expectCode(() => a.receive(Uint8Array.from([0x33])), 'mse_no_sync');
  });

  it('uses the spec hashes: B finds HASH(req1, S) and HASH(req2, SKEY) xor HASH(req3, S) where A put them', () => {
    const dh: MseDh = bigintDh;
    const a = new MseInitiator({ random: new SeededRandom(17), dh }, { infohash: IH, padLength: 0 });
    const ya = a.start();
    const xb = new SeededRandom(18).bytes(20);
    const yb = dh.publicKey(xb);
    const step3 = a.receive(yb).send;
    const s = dh.secret(xb, ya);
    const sha1 = (...p: Uint8Array[]): Buffer => p.reduce((h, x) => h.update(x), createHash('sha1')).digest();
    expect(Buffer.from(step3.subarray(0, 20)).equals(sha1(Buffer.from('req1'), s))).toBe(true);
    const req3 = sha1(Buffer.from('req3'), s);
    const skey = Buffer.from(step3.subarray(20, 40)).map((v, i) => v ^ (req3[i] as number));
    expect(Buffer.from(skey).equals(sha1(Buffer.from('req2'), IH))).toBe(true);
  });
});
