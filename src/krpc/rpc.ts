/**
 * The KRPC RPC layer: sends queries with transaction ids and a per-query timeout with one retry, matches
 * replies by transaction id AND source address (so a third party cannot answer for a node), caps queries
 * in flight, and routes incoming queries to one handler. It owns no socket and no timer source: both are
 * injected. Every drop is counted in `stats`.
 */
import type { PeerAddress } from '../codec/compact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { DhtNodeError } from '../util/errors.js';
import type { Random } from '../util/random.js';
import {
  decodeMessage,
  encodeError,
  encodeQuery,
  encodeResponse,
  KRPC_ERROR,
  KrpcDecodeError,
  type EncodeContext,
  type KrpcQuery,
  type KrpcResponse,
  type QueryArgs,
  type ResponseFields,
} from './messages.js';
import type { DatagramTransport } from './transport.js';
import { DEFAULT_IP_RATE_LIMIT, IpRateLimiter } from './ip-limiter.js';

/** BEP 5 gives no figure; 2 s is what libtorrent and most clients use before a node counts as failed. */
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;
/** One retry: UDP loses packets, and one loss should not mark a good node failed. */
export const DEFAULT_QUERY_RETRIES = 1;
/** Queries in flight at once; more wait in a queue. Bounds memory and our burst rate. */
export const DEFAULT_MAX_IN_FLIGHT = 2048;
/** Queries allowed to wait for a slot; past this a query fails at once with rpc_overloaded. */
export const DEFAULT_MAX_QUEUED = 8192;
/**
 * The global outbound budget: queries we send per second (one second of burst). An ordinary node sends
 * tens per second; this bounds what a bug, a hostile network feeding endless lookups, or many lookups at
 * once can make us send. Queries over budget wait in the queue.
 */
export const DEFAULT_MAX_QUERIES_PER_SECOND = 500;

export class RpcError extends DhtNodeError {
  constructor(
    code: 'rpc_timeout' | 'rpc_error_reply' | 'rpc_overloaded' | 'rpc_closed' | 'rpc_aborted',
    message: string,
    /** The KRPC error code for rpc_error_reply. */
    readonly krpcCode?: number,
  ) {
    super(code, message);
  }
}

/** What a query handler answers: a response, an error, or nothing (drop, e.g. rate-limited). */
export type QueryReply =
  | { kind: 'response'; fields: ResponseFields }
  | { kind: 'error'; code: number; message: string }
  | undefined;

export type QueryHandler = (query: KrpcQuery, from: PeerAddress) => QueryReply;

/** Sees responses that match no query in flight (stateless pings of a bootstrap node). */
export type UnmatchedHandler = (response: KrpcResponse, from: PeerAddress) => void;

export interface RpcStats {
  queriesSent: number;
  retries: number;
  responses: number;
  timeouts: number;
  errorReplies: number;
  queriesReceived: number;
  /** Responses whose transaction id and source matched nothing we sent. */
  unmatched: number;
  /** Datagrams dropped, by decode error code. */
  dropped: Record<string, number>;
  /** Error replies we sent (203 malformed, 204 unknown method, ...). */
  errorsSent: number;
  /** Queries ignored because their address was over the rate limit. */
  rateLimited: number;
  /** Queries that had to wait for the outbound budget. */
  budgetWaits: number;
}

export interface RpcOptions {
  timeoutMs?: number;
  retries?: number;
  maxInFlight?: number;
  maxQueued?: number;
  /** BEP 43: mark our queries read-only. */
  readOnly?: boolean;
  /** Queries per second one address may send before it is ignored for a while; 0 turns the limit off. */
  ipRateLimit?: number;
  /** Queries we may send per second (the global outbound budget); 0 for no budget. */
  maxQueriesPerSecond?: number;
}

export interface RpcDeps {
  clock: Clock;
  random: Random;
  transport: DatagramTransport;
  /** Our `v` field and other encoding context. */
  encoding: EncodeContext;
}

export interface RpcAnswer {
  from: PeerAddress;
  response: KrpcResponse;
}

interface Pending {
  key: string;
  to: PeerAddress;
  datagram: Uint8Array;
  triesLeft: number;
  timer: TimerHandle;
  resolve: (answer: RpcAnswer) => void;
  reject: (err: RpcError) => void;
  cleanupSignal: (() => void) | undefined;
}

interface Waiting {
  run: () => void;
}

function addressKey(tid: number, a: PeerAddress): string {
  return `${tid}/${a.host}/${a.port}`;
}

export class Rpc {
  readonly stats: RpcStats = {
    queriesSent: 0,
    retries: 0,
    responses: 0,
    timeouts: 0,
    errorReplies: 0,
    queriesReceived: 0,
    unmatched: 0,
    dropped: {},
    errorsSent: 0,
    rateLimited: 0,
    budgetWaits: 0,
  };

  private readonly opts: Required<RpcOptions>;
  private readonly limiter: IpRateLimiter;
  private readonly pending = new Map<string, Pending>();
  private readonly waiting: Waiting[] = [];
  private nextTid: number;
  /** Outbound budget tokens and when they were last refilled. */
  private tokens: number;
  private tokensAt: number;
  private budgetTimer: TimerHandle | undefined;
  private handler: QueryHandler = () => undefined;
  private unmatchedHandler: UnmatchedHandler | undefined;
  private closed = false;

  constructor(
    private readonly deps: RpcDeps,
    options: RpcOptions = {},
  ) {
    this.opts = {
      timeoutMs: options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      retries: options.retries ?? DEFAULT_QUERY_RETRIES,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
      readOnly: options.readOnly ?? false,
      ipRateLimit: options.ipRateLimit ?? DEFAULT_IP_RATE_LIMIT,
      maxQueriesPerSecond: options.maxQueriesPerSecond ?? DEFAULT_MAX_QUERIES_PER_SECOND,
    };
    this.tokens = this.opts.maxQueriesPerSecond;
    this.tokensAt = deps.clock.now();
    this.limiter = new IpRateLimiter(this.opts.ipRateLimit);
    this.nextTid = deps.random.int(0x10000);
    deps.transport.onDatagram((data, from) => this.receive(data, from));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sets the handler for incoming queries. */
  onQuery(handler: QueryHandler): void {
    this.handler = handler;
  }

  /** Sets the receiver of responses that match nothing in flight. */
  onUnmatched(handler: UnmatchedHandler): void {
    this.unmatchedHandler = handler;
  }

  /**
   * Sends a query with a caller-chosen transaction id and keeps no state for it: its answer goes to the
   * onUnmatched handler. A bootstrap node pings thousands of nodes this way with a keyed-hash id.
   */
  sendUntracked(to: PeerAddress, t: Uint8Array, ownId: Uint8Array, args: QueryArgs): void {
    if (this.closed) return;
    this.stats.queriesSent++;
    this.deps.transport.send(encodeQuery(t, ownId, args, this.deps.encoding, this.opts.readOnly), to);
  }

  /**
   * Sends a query and resolves with the matching response. Rejects with RpcError: rpc_timeout after the
   * retries, rpc_error_reply for a KRPC error, rpc_overloaded when too many wait, rpc_aborted on `signal`.
   */
  query(to: PeerAddress, ownId: Uint8Array, args: QueryArgs, signal?: AbortSignal): Promise<RpcAnswer> {
    return new Promise<RpcAnswer>((resolve, reject) => {
      if (this.closed) return reject(new RpcError('rpc_closed', 'RPC layer closed'));
      if (signal?.aborted) return reject(new RpcError('rpc_aborted', 'aborted'));
      const start = (): void => this.start(to, ownId, args, signal, resolve, reject);
      if (this.waiting.length === 0 && this.pending.size < this.opts.maxInFlight && this.takeToken()) return start();
      if (this.waiting.length >= this.opts.maxQueued) return reject(new RpcError('rpc_overloaded', 'too many queries waiting'));
      this.waiting.push({ run: start });
      this.startWaiting();
    });
  }

  /** Takes one token of the outbound budget if there is one (refilled continuously, one second of burst). */
  private takeToken(): boolean {
    const rate = this.opts.maxQueriesPerSecond;
    if (rate <= 0) return true;
    const now = this.deps.clock.now();
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Starts waiting queries while a slot and a token are free; waits for the next token otherwise. */
  private startWaiting(): void {
    while (this.waiting.length > 0 && this.pending.size < this.opts.maxInFlight) {
      if (!this.takeToken()) {
        this.stats.budgetWaits++;
        if (this.budgetTimer === undefined && !this.closed) {
          const wait = Math.ceil(1000 / this.opts.maxQueriesPerSecond);
          this.budgetTimer = this.deps.clock.setTimeout(() => {
            this.budgetTimer = undefined;
            this.startWaiting();
          }, wait);
        }
        return;
      }
      (this.waiting.shift() as Waiting).run();
    }
  }

  private start(
    to: PeerAddress,
    ownId: Uint8Array,
    args: QueryArgs,
    signal: AbortSignal | undefined,
    resolve: (a: RpcAnswer) => void,
    reject: (e: RpcError) => void,
  ): void {
    if (this.closed) return reject(new RpcError('rpc_closed', 'RPC layer closed'));
    if (signal?.aborted) return reject(new RpcError('rpc_aborted', 'aborted'));
    // Find a free 16-bit transaction id for this destination (collisions only matter per address).
    let tid = 0;
    let key = '';
    for (let i = 0; i < 8; i++) {
      tid = this.nextTid;
      this.nextTid = (this.nextTid + 1) & 0xffff;
      key = addressKey(tid, to);
      if (!this.pending.has(key)) break;
    }
    if (this.pending.has(key)) return reject(new RpcError('rpc_overloaded', 'no free transaction id'));
    const t = new Uint8Array([tid >> 8, tid & 0xff]);
    const datagram = encodeQuery(t, ownId, args, this.deps.encoding, this.opts.readOnly);
    const p: Pending = {
      key,
      to,
      datagram,
      triesLeft: this.opts.retries,
      timer: this.deps.clock.setTimeout(() => this.onTimeout(p), this.opts.timeoutMs),
      resolve,
      reject,
      cleanupSignal: undefined,
    };
    if (signal) {
      const onAbort = (): void => this.finish(p, undefined, new RpcError('rpc_aborted', 'aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      p.cleanupSignal = () => signal.removeEventListener('abort', onAbort);
    }
    this.pending.set(key, p);
    this.stats.queriesSent++;
    this.deps.transport.send(datagram, to);
  }

  private onTimeout(p: Pending): void {
    if (!this.pending.has(p.key)) return;
    if (p.triesLeft > 0) {
      p.triesLeft--;
      this.stats.retries++;
      p.timer = this.deps.clock.setTimeout(() => this.onTimeout(p), this.opts.timeoutMs);
      this.deps.transport.send(p.datagram, p.to);
      return;
    }
    this.stats.timeouts++;
    this.finish(p, undefined, new RpcError('rpc_timeout', `no reply from ${p.to.host}:${p.to.port}`));
  }

  private finish(p: Pending, answer: RpcAnswer | undefined, err: RpcError | undefined): void {
    if (this.pending.get(p.key) !== p) return;
    this.pending.delete(p.key);
    this.deps.clock.clearTimeout(p.timer);
    p.cleanupSignal?.();
    if (answer) p.resolve(answer);
    else if (err) p.reject(err);
    // A slot opened: start the next waiting queries the budget allows.
    this.startWaiting();
  }

  private drop(code: string): void {
    this.stats.dropped[code] = (this.stats.dropped[code] ?? 0) + 1;
  }

  /** One incoming datagram. Nothing thrown here may escape into the socket callback. */
  private receive(data: Uint8Array, from: PeerAddress): void {
    if (this.closed) return;
    let msg;
    try {
      msg = decodeMessage(data);
    } catch (err) {
      const e = err as KrpcDecodeError;
      this.drop(e.code ?? 'decode');
      // A malformed query whose transaction id we could read gets 203 with the reason (BEP 5).
      if (e instanceof KrpcDecodeError && e.isQuery && e.t) this.sendError(e.t, KRPC_ERROR.protocol, e.message, from);
      return;
    }
    switch (msg.kind) {
      case 'query':
        this.stats.queriesReceived++;
        if (!this.limiter.allow(from.host, this.deps.clock.now())) {
          this.stats.rateLimited++;
          return;
        }
        this.answer(msg, from);
        return;
      case 'response':
      case 'error': {
        const tid = msg.t.length === 2 ? ((msg.t[0] as number) << 8) | (msg.t[1] as number) : -1;
        const p = tid < 0 ? undefined : this.pending.get(addressKey(tid, from));
        if (!p) {
          this.stats.unmatched++;
          if (msg.kind === 'response') this.unmatchedHandler?.(msg, from);
          return;
        }
        if (msg.kind === 'response') {
          this.stats.responses++;
          this.finish(p, { from, response: msg }, undefined);
        } else {
          this.stats.errorReplies++;
          this.finish(p, undefined, new RpcError('rpc_error_reply', `error ${msg.code}: ${msg.message}`, msg.code));
        }
        return;
      }
    }
  }

  private answer(query: KrpcQuery, from: PeerAddress): void {
    let reply: QueryReply;
    try {
      reply = this.handler(query, from);
    } catch {
      // A handler bug must not take the node down; the sender gets a server error.
      reply = { kind: 'error', code: KRPC_ERROR.server, message: 'server error' };
    }
    if (reply === undefined) return;
    if (reply.kind === 'error') this.sendError(query.t, reply.code, reply.message, from);
    else this.deps.transport.send(encodeResponse(query.t, reply.fields, from, this.deps.encoding), from);
  }

  private sendError(t: Uint8Array, code: number, message: string, to: PeerAddress): void {
    this.stats.errorsSent++;
    this.deps.transport.send(encodeError(t, code, message, to, this.deps.encoding), to);
  }

  /** Fails every pending and waiting query; further queries are refused. */
  close(): void {
    this.closed = true;
    if (this.budgetTimer !== undefined) this.deps.clock.clearTimeout(this.budgetTimer);
    for (const p of [...this.pending.values()]) this.finish(p, undefined, new RpcError('rpc_closed', 'RPC layer closed'));
    // Each waiting query's start() sees `closed` and rejects, so no caller is left hanging.
    for (const w of this.waiting.splice(0)) w.run();
  }
}
