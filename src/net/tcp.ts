/**
 * Real TCP for the peer wire: a listener that hands each inbound connection over as a Duplex, and a dialer
 * with a timeout on the injected Clock. Nothing above app/ sees a net.Socket: peer connections take any
 * Duplex, so tests can use in-memory pairs and production uses these.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { sleep, type Clock } from '../util/clock.js';
import { DhtNodeError } from '../util/errors.js';
import { acceptMaybeEncrypted, type InboundEncryption, type MseAcceptDeps, type MseAcceptOptions, type MseStreamError } from './mse-stream.js';

/** A TCP failure. Codes: tcp_listen (cannot bind), tcp_connect (refused/unreachable), tcp_timeout, tcp_aborted. */
export class TcpError extends DhtNodeError {}

/** Bounds inbound sockets held at once, so a connection flood cannot exhaust file descriptors. */
export const MAX_INBOUND_CONNECTIONS = 200;
/** How long a dial may take before we give up on the peer (libtorrent's peer_connect_timeout is 15 s). */
export const DIAL_TIMEOUT_MS = 15_000;

/** Where a connection comes from or goes to. */
export interface Endpoint {
  host: string;
  port: number;
}

export interface TcpListenerOptions {
  /** Local address to bind (CLI --bind); default all interfaces. */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Default MAX_INBOUND_CONNECTIONS. */
  maxConnections?: number;
  /**
   * Also accept MSE/PE (encrypted) handshakes, as libtorrent and Transmission open with by default
   * (src/net/mse-stream.ts). Absent: every socket is handed on at once, as it arrives.
   */
  encryption?: TcpEncryptionOptions;
}

/** What the listener needs to answer MSE: a clock for the deadline, randomness for keys and pads, our torrents. */
export interface TcpEncryptionOptions extends MseAcceptDeps, MseAcceptOptions {
  /** Told of each connection dropped during the handshake (for counters and logs). */
  onRefused?(err: MseStreamError, remote: Endpoint): void;
  /** Told how each handed-on connection came in. */
  onAccepted?(encryption: InboundEncryption, remote: Endpoint): void;
}

/** A listening TCP socket. */
export interface TcpListener {
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** Starts listening; `onConnection` gets each accepted socket as a Duplex with the remote endpoint. */
export function listenTcp(options: TcpListenerOptions, onConnection: (stream: Duplex, remote: Endpoint) => void): Promise<TcpListener> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer({ noDelay: true }, (socket: Socket) => {
      // A socket error before the session attaches must not crash the process.
      socket.on('error', () => {});
      const host = socket.remoteAddress;
      const port = socket.remotePort;
      if (host === undefined || port === undefined) {
        socket.destroy();
        return;
      }
      const remote = { host: stripMappedV4(host), port };
      const enc = options.encryption;
      if (enc === undefined) return onConnection(socket, remote);
      acceptMaybeEncrypted(enc, enc, socket, (err, stream, encryption) => {
        if (err !== undefined || stream === undefined || encryption === undefined) {
          if (err !== undefined) enc.onRefused?.(err, remote);
          return;
        }
        enc.onAccepted?.(encryption, remote);
        onConnection(stream, remote);
      });
    });
    server.maxConnections = options.maxConnections ?? MAX_INBOUND_CONNECTIONS;
    const onError = (err: Error): void => reject(new TcpError('tcp_listen', `cannot listen on ${options.host ?? '*'}:${options.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', onError);
      server.on('error', () => {});
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : options.port;
      const host = typeof addr === 'object' && addr !== null ? addr.address : (options.host ?? '');
      resolve({
        port,
        host,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
          }),
      });
    });
  });
}

export interface DialOptions extends Endpoint {
  /** Local address to dial from (CLI --bind). */
  localAddress?: string;
  /** Default DIAL_TIMEOUT_MS. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * One read buffer for every dialled socket. The kernel copies each read into it and its 'data' listener
 * consumes it before the next read can start (reads and their callbacks run one at a time on this thread),
 * so one buffer serves them all. Reusing memory that stays in the CPU cache instead of a fresh 64 KiB
 * allocation per read took receiving 1 GiB on loopback from 0.72-0.8 to 0.25-0.3 CPU-seconds here
 * (docs/benchmarks.md): fresh memory is mostly page faults.
 */
const SHARED_READ_BUFFER = Buffer.allocUnsafeSlow(256 * 1024);

/**
 * Opens a TCP connection; rejects with a TcpError on refusal, timeout or abort (and destroys the socket).
 *
 * The socket's 'data' chunks are borrowed views of a shared read buffer, valid only while the listener
 * runs: a listener copies what it keeps (PeerConnection and its Framer do). Bytes that arrive before any
 * 'data' listener is attached are copied and held by the stream, as usual.
 */
export function dialTcp(deps: { clock: Clock }, options: DialOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const timer = new AbortController();
    const onread = {
      buffer: SHARED_READ_BUFFER,
      callback: (n: number, buf: Uint8Array): boolean => {
        const chunk = buf.subarray(0, n);
        if (socket.listenerCount('data') > 0 && socket.readableLength === 0) socket.emit('data', chunk);
        else socket.push(Buffer.from(chunk));
        return true;
      },
    };
    const socket = connect({ host: options.host, port: options.port, localAddress: options.localAddress, noDelay: true, onread });
    let settled = false;
    const finish = (err: TcpError | undefined): void => {
      if (settled) return;
      settled = true;
      timer.abort();
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const where = `${options.host}:${options.port}`;
    const onConnect = (): void => finish(undefined);
    const onAbort = (): void => finish(new TcpError('tcp_aborted', `dial to ${where} aborted`));
    socket.once('connect', onConnect);
    socket.on('error', (err) => finish(new TcpError('tcp_connect', `cannot connect to ${where}: ${err.message}`, { cause: err })));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    sleep(deps.clock, options.timeoutMs ?? DIAL_TIMEOUT_MS, timer.signal).then(
      () => finish(new TcpError('tcp_timeout', `connecting to ${where} timed out`)),
      () => {},
    );
  });
}

/** `::ffff:1.2.3.4` (a v4 peer on a dual-stack socket) is reported as `1.2.3.4`. */
function stripMappedV4(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}
