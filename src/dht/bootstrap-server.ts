/**
 * A bootstrap node (the role of router.utorrent.com and dht.libtorrent.org): not an ordinary node with a
 * big table, but a large pool of verified nodes handed out round-robin.
 *
 * Every node that queries us is queued and pinged after `pingDelayMs` (about 15 minutes by default, so a
 * node that only passes by never enters). The ping carries a stateless transaction id, a keyed hash of the
 * node's address, so millions of pending verifications cost no state here: the answer proves itself. Only
 * nodes that answer, at an acceptable address with a non-zero port, that are not read-only (BEP 43) and,
 * when enforced, whose id matches their IP (BEP 42) enter the pool, one entry per IP.
 *
 * find_node and get_peers are answered with the next 16 pool nodes (fewer to a requester seen moments ago),
 * with the requester's address in `ip` (BEP 42); announce_peer is acknowledged and not stored.
 */
import { createHmac } from 'node:crypto';
import { isAcceptableAddress } from '../codec/address.js';
import { familyOf, type PeerAddress } from '../codec/compact.js';
import { KRPC_ERROR, type KrpcQuery, type KrpcResponse } from '../krpc/messages.js';
import { Rpc, type QueryReply, type RpcOptions, type RpcStats } from '../krpc/rpc.js';
import type { DatagramTransport } from '../krpc/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';
import type { Random } from '../util/random.js';
import { isValidIdForAddress } from './bep42.js';
import { BootstrapPool, DEFAULT_POOL_SIZE } from './bootstrap-pool.js';
import { CLIENT_VERSION } from './constants.js';
import { randomNodeId, toNodeId, type NodeId } from './node-id.js';
import { TokenManager } from './tokens.js';

/** The reference design waits 15 minutes: a node still up by then is worth handing out. */
export const DEFAULT_PING_DELAY_MS = 15 * 60_000;
/** Nodes per reply: twice K, as the reference design does, so newcomers start with a wide view. */
export const NODES_PER_REPLY = 16;
/** What a requester seen within RECENT_REQUESTER_MS gets: it already has our answer. */
export const NODES_PER_REPEAT_REPLY = 4;
export const RECENT_REQUESTER_MS = 60_000;
/** Requesters remembered for the repeat rule; bounded so a spoofed flood cannot grow memory. */
const MAX_RECENT_REQUESTERS = 200_000;
/** Nodes waiting for their verification ping; past this newcomers are not queued. */
export const MAX_PING_QUEUE = 1_000_000;
/** Verification pings per tick (bounds our outbound burst). */
const MAX_PINGS_PER_TICK = 2_000;
const TICK_MS = 1_000;
/** Stateless ping ids: HMAC secrets rotate this often; the previous one is still accepted. */
const SECRET_ROTATE_MS = 10 * 60_000;
const PING_TID_BYTES = 4;

export interface BootstrapServerDeps {
  clock: Clock;
  random: Random;
  transport: DatagramTransport;
}

export interface BootstrapServerOptions {
  id?: NodeId;
  pingDelayMs?: number;
  poolSize?: number;
  allowLocal?: boolean;
  /** Admit only nodes whose id matches their IP by BEP 42. */
  enforceBep42?: boolean;
  rpc?: RpcOptions;
}

export interface BootstrapStats {
  poolSize: number;
  queued: number;
  queueDropped: number;
  pingsSent: number;
  verified: number;
  rejected: Record<string, number>;
  nodesServed: number;
  queriesReceived: Record<string, number>;
  rpc: RpcStats;
}

interface Pending extends PeerAddress {
  dueAt: number;
}

export class BootstrapServer {
  readonly id: NodeId;
  readonly pool: BootstrapPool;
  readonly rpc: Rpc;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly tokens: TokenManager;
  private readonly pingDelayMs: number;
  private readonly allowLocal: boolean;
  private readonly enforceBep42: boolean;
  /** FIFO of nodes to verify; every entry has the same delay, so it is ordered by due time. */
  private queue: Pending[] = [];
  private queueHead = 0;
  private readonly queuedHosts = new Set<string>();
  private readonly recentRequesters = new Map<string, number>();
  private secrets: [Uint8Array, Uint8Array];
  private secretsRotatedAt: number;
  private timer: TimerHandle | undefined;
  private readonly counters = { queueDropped: 0, pingsSent: 0, verified: 0, nodesServed: 0 };
  private readonly rejected: Record<string, number> = {};
  private readonly queriesReceived: Record<string, number> = {};

  constructor(deps: BootstrapServerDeps, options: BootstrapServerOptions = {}) {
    this.clock = deps.clock;
    this.random = deps.random;
    this.id = options.id ?? randomNodeId(deps.random);
    this.pool = new BootstrapPool(options.poolSize ?? DEFAULT_POOL_SIZE);
    this.pingDelayMs = options.pingDelayMs ?? DEFAULT_PING_DELAY_MS;
    this.allowLocal = options.allowLocal ?? false;
    this.enforceBep42 = options.enforceBep42 ?? false;
    const now = deps.clock.now();
    this.tokens = new TokenManager(deps.random, now);
    this.secrets = [deps.random.bytes(16), deps.random.bytes(16)];
    this.secretsRotatedAt = now;
    this.rpc = new Rpc({ clock: deps.clock, random: deps.random, transport: deps.transport, encoding: { version: CLIENT_VERSION } }, options.rpc);
    this.rpc.onQuery((q, from) => this.onQuery(q, from));
    this.rpc.onUnmatched((r, from) => this.onPingAnswer(r, from));
  }

  start(): void {
    if (this.timer) return;
    const loop = (): void => {
      this.timer = this.clock.setTimeout(loop, TICK_MS);
      this.tick();
    };
    this.timer = this.clock.setTimeout(loop, TICK_MS);
  }

  close(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.rpc.close();
  }

  private count(record: Record<string, number>, key: string): void {
    record[key] = (record[key] ?? 0) + 1;
  }

  private onQuery(q: KrpcQuery, from: PeerAddress): QueryReply {
    const now = this.clock.now();
    this.count(this.queriesReceived, q.method === 'unknown' ? 'unknown' : q.method);
    if (!q.readOnly) this.enqueue(from, now);
    switch (q.method) {
      case 'ping':
        return { kind: 'response', fields: { id: this.id } };
      case 'find_node':
        return { kind: 'response', fields: { id: this.id, nodes: this.nodesFor(from, now) } };
      case 'get_peers':
        return { kind: 'response', fields: { id: this.id, token: this.tokens.issue(from.host, now), nodes: this.nodesFor(from, now) } };
      case 'announce_peer':
        // Acknowledged so clients do not retry; a bootstrap node does not serve as a peer store.
        return { kind: 'response', fields: { id: this.id } };
      case 'unknown':
        if (q.target) return { kind: 'response', fields: { id: this.id, nodes: this.nodesFor(from, now) } };
        return { kind: 'error', code: KRPC_ERROR.methodUnknown, message: 'method unknown' };
    }
  }

  /** The next pool nodes, in the requester's family (the pool holds IPv4; IPv6 requesters get none yet). */
  private nodesFor(from: PeerAddress, now: number): Uint8Array {
    if (familyOf(from.host) !== 4) return new Uint8Array(0);
    const last = this.recentRequesters.get(from.host);
    const repeat = last !== undefined && now - last < RECENT_REQUESTER_MS;
    if (this.recentRequesters.size >= MAX_RECENT_REQUESTERS) this.recentRequesters.delete(this.recentRequesters.keys().next().value as string);
    this.recentRequesters.delete(from.host);
    this.recentRequesters.set(from.host, now);
    const nodes = this.pool.nextCompact(repeat ? NODES_PER_REPEAT_REPLY : NODES_PER_REPLY, from.host);
    this.counters.nodesServed += nodes.length / 26;
    return nodes;
  }

  private enqueue(from: PeerAddress, now: number): void {
    if (from.port === 0 || !isAcceptableAddress(from.host, this.allowLocal)) return this.count(this.rejected, 'address');
    if (this.queuedHosts.has(from.host) || this.pool.has(from.host)) return;
    if (this.queuedHosts.size >= MAX_PING_QUEUE) {
      this.counters.queueDropped++;
      return;
    }
    this.queuedHosts.add(from.host);
    this.queue.push({ host: from.host, port: from.port, dueAt: now + this.pingDelayMs });
  }

  private rotateSecrets(now: number): void {
    if (now - this.secretsRotatedAt < SECRET_ROTATE_MS) return;
    this.secrets = [this.random.bytes(16), this.secrets[0]];
    this.secretsRotatedAt = now;
  }

  private pingTid(secret: Uint8Array, to: PeerAddress): Uint8Array {
    return new Uint8Array(createHmac('sha1', secret).update(`${to.host}/${to.port}`).digest().subarray(0, PING_TID_BYTES));
  }

  /** Sends the verification pings that fell due. */
  tick(): void {
    const now = this.clock.now();
    this.rotateSecrets(now);
    let sent = 0;
    while (this.queueHead < this.queue.length && sent < MAX_PINGS_PER_TICK) {
      const p = this.queue[this.queueHead] as Pending;
      if (p.dueAt > now) break;
      this.queueHead++;
      this.queuedHosts.delete(p.host);
      this.rpc.sendUntracked(p, this.pingTid(this.secrets[0], p), this.id, { method: 'ping' });
      this.counters.pingsSent++;
      sent++;
    }
    // Drop the consumed prefix now and then rather than shifting on every pop.
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private onPingAnswer(r: KrpcResponse, from: PeerAddress): void {
    const valid = this.secrets.some((s) => bytesEqual(r.t, this.pingTid(s, from)));
    if (!valid) return this.count(this.rejected, 'unsolicited');
    if (from.port === 0 || !isAcceptableAddress(from.host, this.allowLocal)) return this.count(this.rejected, 'address');
    const id = toNodeId(r.body.id);
    if (bytesEqual(id, this.id)) return this.count(this.rejected, 'self');
    if (this.enforceBep42 && !isValidIdForAddress(id, from.host)) return this.count(this.rejected, 'bep42');
    if (this.pool.add({ id, host: from.host, port: from.port })) this.counters.verified++;
  }

  stats(): BootstrapStats {
    return {
      poolSize: this.pool.size,
      queued: this.queuedHosts.size,
      queueDropped: this.counters.queueDropped,
      pingsSent: this.counters.pingsSent,
      verified: this.counters.verified,
      rejected: { ...this.rejected },
      nodesServed: this.counters.nodesServed,
      queriesReceived: { ...this.queriesReceived },
      rpc: { ...this.rpc.stats, dropped: { ...this.rpc.stats.dropped } },
    };
  }
}
