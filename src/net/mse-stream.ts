/**
 * An accepted connection that may open with MSE/PE instead of the plaintext BitTorrent handshake. The first
 * bytes decide: "\x13BitTorrent protocol" hands the stream on untouched (the bytes peeked are put back, in
 * order); anything else runs the MSE responder (src/wire/mse.ts). When the peer offered plaintext we select
 * it and hand on the socket itself, the handshake's leftover bytes put back in front; when it insisted on
 * RC4, a Duplex that decrypts what it reads and encrypts what it writes. A bad handshake, an infohash we do
 * not serve, or the deadline on the injected Clock destroys the socket with a coded reason.
 */
import { Duplex } from 'node:stream';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { DhtNodeError, errorCode, errorMessage } from '../util/errors.js';
import { MseResponder, type MseCipher, type MseDh, type MseResult } from '../wire/mse.js';
import type { Rc4 } from '../wire/rc4.js';

/** Why an inbound connection was dropped before the peer wire saw it. Codes: mse_timeout, mse_closed, and mse_* of the decoder. */
export class MseStreamError extends DhtNodeError {}

/**
 * How long a peer has to finish the handshake (first bytes included): libtorrent's handshake_timeout is
 * 10 s; the MSE spec tolerates 30 s for Ya alone, but an idle half-open socket holds a descriptor.
 */
export const MSE_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The first 20 bytes of every plaintext BitTorrent handshake (BEP 3): pstrlen 19 and the protocol name. */
const PLAINTEXT_PREFIX = Uint8Array.from('\x13BitTorrent protocol', (c) => c.charCodeAt(0));

export interface MseAcceptDeps {
  clock: Clock;
  random: Random;
  /** Default nodeDh (OpenSSL). */
  dh?: MseDh;
}

export interface MseAcceptOptions {
  /** The infohashes we serve now; an MSE peer must ask for one of them. */
  infohashes(): readonly Uint8Array[];
  /** Default MSE_HANDSHAKE_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** How the connection came in: a plaintext handshake, or MSE with plaintext or RC4 selected. */
export type InboundEncryption = 'none' | 'mse-plaintext' | 'mse-rc4';

export type AcceptCallback = (err: MseStreamError | undefined, stream: Duplex | undefined, encryption: InboundEncryption | undefined) => void;

/**
 * Reads the first bytes of `socket` and calls `done` once with the stream for the peer wire, or with an
 * error after destroying the socket. Nothing is read past the handshake before `done` is called.
 */
export function acceptMaybeEncrypted(deps: MseAcceptDeps, options: MseAcceptOptions, socket: Duplex, done: AcceptCallback): void {
  let responder: MseResponder | undefined;
  let peeked: Uint8Array = new Uint8Array(0);
  let finished = false;

  const detach = (): void => {
    finished = true;
    deps.clock.clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
  };
  const fail = (err: MseStreamError): void => {
    if (finished) return;
    detach();
    socket.destroy();
    done(err, undefined, undefined);
  };
  /** Hands the socket itself on, with `front` put back ahead of whatever it has not yet delivered. */
  const handOnSocket = (front: Uint8Array, encryption: InboundEncryption): void => {
    detach();
    if (front.length > 0) socket.unshift(Buffer.from(front.buffer, front.byteOffset, front.length));
    done(undefined, socket, encryption);
  };
  const onResult = (result: MseResult): void => {
    if (result.cipher === undefined) return handOnSocket(result.payload, 'mse-plaintext');
    detach();
    done(undefined, new Rc4Duplex(socket, result.cipher, result.payload), 'mse-rc4');
  };
  const feed = (chunk: Uint8Array): void => {
    if (responder === undefined) {
      peeked = concat(peeked, chunk);
      const n = Math.min(peeked.length, PLAINTEXT_PREFIX.length);
      const plaintextSoFar = peeked.subarray(0, n).every((b, i) => b === PLAINTEXT_PREFIX[i]);
      if (plaintextSoFar) {
        if (n === PLAINTEXT_PREFIX.length) handOnSocket(peeked, 'none');
        return;
      }
      // Not BitTorrent in the clear: an MSE Ya. Without a torrent to match, skip the DH work.
      if (options.infohashes().length === 0) return fail(new MseStreamError('mse_unknown_infohash', 'encrypted handshake, and no torrent to serve'));
      responder = new MseResponder({ random: deps.random, dh: deps.dh }, { infohashes: () => options.infohashes() });
      chunk = peeked;
    }
    const step = responder.receive(chunk);
    if (step.send.length > 0) socket.write(step.send);
    if (step.result !== undefined) onResult(step.result);
  };
  const onReadable = (): void => {
    let chunk: Buffer | null;
    try {
      while (!finished && (chunk = socket.read() as Buffer | null) !== null) feed(chunk);
    } catch (err) {
      fail(new MseStreamError(errorCode(err) ?? 'mse_error', errorMessage(err), { cause: err }));
    }
  };
  const onEnd = (): void => fail(new MseStreamError('mse_closed', 'the peer closed the connection during the handshake'));
  const onError = (err: Error): void => fail(new MseStreamError('mse_closed', `socket error during the handshake: ${err.message}`, { cause: err }));

  const timer = deps.clock.setTimeout(
    () => fail(new MseStreamError('mse_timeout', 'no complete handshake in time')),
    options.timeoutMs ?? MSE_HANDSHAKE_TIMEOUT_MS,
  );
  socket.on('readable', onReadable);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  socket.on('error', onError);
}

/**
 * The stream after an RC4 handshake: reads are decrypted (the handshake's leftover first), writes are
 * encrypted into fresh buffers (callers may reuse theirs). Backpressure passes through both ways.
 */
export class Rc4Duplex extends Duplex {
  private readonly decrypt: Rc4;
  private readonly encrypt: Rc4;

  constructor(
    private readonly socket: Duplex,
    cipher: MseCipher,
    payload: Uint8Array,
  ) {
    super({ allowHalfOpen: false });
    this.decrypt = cipher.decrypt;
    this.encrypt = cipher.encrypt;
    if (payload.length > 0) this.push(Buffer.from(payload.buffer, payload.byteOffset, payload.length));
    socket.on('data', (chunk: Buffer) => {
      // Socket chunks are ours alone: decrypt where they lie.
      this.decrypt.processInPlace(chunk);
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(this.encrypt.process(chunk), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let total = 0;
    for (const c of chunks) total += c.chunk.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c.chunk, at);
      at += c.chunk.length;
    }
    this.encrypt.processInPlace(out);
    this.send(out, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }

  /** Writes to the socket; our write completes when the socket accepts more (its 'drain'), like a socket's own. */
  private send(bytes: Uint8Array, callback: (error?: Error | null) => void): void {
    if (this.socket.write(bytes)) callback();
    else this.socket.once('drain', () => callback());
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
