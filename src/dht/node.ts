/**
 * A Mainline DHT node (BEP 5): composes the RPC layer, routing table, tokens, peer store, query handlers,
 * lookups and maintenance. It owns no socket and no timer source (both injected), so the same node runs on
 * UDP in production and on an in-memory network with a fake clock in simulations.
 */
import { isAcceptableAddress } from '../codec/address.js';
import { familyOf, type CompactNodeInfo, type PeerAddress } from '../codec/compact.js';
import type { QueryArgs } from '../krpc/messages.js';
import { Rpc, type RpcAnswer } from '../krpc/rpc.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { bytesEqual } from '../util/bytes.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import {
  CLIENT_VERSION,
  DEFAULT_ALPHA,
  K,
  MAINTENANCE_INTERVAL_MS,
  MAX_NODE_FAILURES,
  MAX_VERIFY_PINGS,
  MIN_HEALTHY_NODES,
} from './constants.js';
import { handleQuery, type HandlerContext } from './handlers.js';
import { lookup, type ClosestNode, type LookupEvent, type LookupSeed, type LookupSummary } from './lookup.js';
import { compareDistance, randomIdWithPrefix, randomNodeId, toNodeId, type NodeId } from './node-id.js';
import { PeerStore } from './peer-store.js';
import { RoutingTable, type Bep42Policy } from './routing-table.js';
import { idForAddress, isValidIdForAddress } from './bep42.js';
import { TokenManager } from './tokens.js';
import type { DhtNodeDeps, DhtNodeOptions, DhtNodeStats, LookupRequest } from './node-types.js';

export type { DhtNodeDeps, DhtNodeOptions, DhtNodeStats, LookupRequest } from './node-types.js';

/** Saved contacts kept as seeds; about one full table's worth. */
const MAX_HINTS = 512;
/** Longest wait between re-bootstrap attempts while the table stays empty. */
const MAX_REBOOTSTRAP_DELAY_MS = 5 * 60_000;
/** Saved contacts pinged at once on restore. */
const RESTORE_CONCURRENCY = 32;


export class DhtNode {
  private currentId: NodeId;
  private currentTable: RoutingTable;
  readonly peers: PeerStore;
  readonly rpc: Rpc;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly tokens: TokenManager;

  /** The token secret, to share with the other family's node (BEP 32). */
  get tokenManager(): TokenManager {
    return this.tokens;
  }
  private readonly allowLocal: boolean;
  private readonly k: number;
  private readonly alpha: number;
  private readonly readOnly: boolean;
  private readonly bep42: Bep42Policy;
  /** The address family of our socket (BEP 32 runs one node per family). */
  readonly family: 4 | 6;
  private readonly onePerIp: boolean | undefined;
  private readonly deriveIdFromIp: boolean;
  private bootstrapNodes: PeerAddress[];
  private readonly handlerCtx: HandlerContext;
  private readonly queriesReceived: Record<string, number> = {};
  /** Addresses of nodes that queried us and are being pinged before they may enter the table. */
  private readonly verifying = new Set<string>();
  private verifyPings = 0;
  private maintenanceTimer: TimerHandle | undefined;
  private refreshing = false;
  private bootstrapping: Promise<LookupSummary> | undefined;
  private closed = false;
  /** BEP 42: our address as others report it, by votes. */
  private readonly ipVotes = new Map<string, number>();
  /** Contacts known from saved state but not (yet) verified: extra lookup seeds while the table is thin. */
  private hints: CompactNodeInfo[] = [];
  private nextRebootstrapAt = 0;
  private rebootstrapDelay = MAINTENANCE_INTERVAL_MS;

  constructor(deps: DhtNodeDeps, options: DhtNodeOptions = {}) {
    this.clock = deps.clock;
    this.random = deps.random;
    this.log = deps.log ?? silentLogger;
    this.currentId = options.id ?? randomNodeId(deps.random);
    this.allowLocal = options.allowLocal ?? false;
    this.k = options.k ?? K;
    this.alpha = options.alpha ?? DEFAULT_ALPHA;
    this.readOnly = options.readOnly ?? false;
    this.bootstrapNodes = [...(options.bootstrap ?? [])];
    const now = this.clock.now();
    this.bep42 = options.bep42 ?? 'off';
    this.onePerIp = options.onePerIp;
    this.deriveIdFromIp = options.deriveIdFromIp ?? false;
    this.family = deps.transport.local.host.includes(':') ? 6 : 4;
    this.currentTable = new RoutingTable({ localId: this.id, k: this.k, allowLocal: this.allowLocal, bep42: this.bep42, family: this.family, onePerIp: options.onePerIp }, now);
    this.peers = deps.peerStore ?? new PeerStore(options.peerStore);
    this.tokens = deps.tokens ?? new TokenManager(deps.random, now);
    this.rpc = new Rpc(
      { clock: deps.clock, random: deps.random, transport: deps.transport, encoding: { version: CLIENT_VERSION } },
      { ...options.rpc, readOnly: this.readOnly },
    );
    this.handlerCtx = {
      localId: this.id,
      table: this.table,
      sibling: () => undefined,
      tokens: this.tokens,
      peers: this.peers,
      random: deps.random,
      allowLocal: this.allowLocal,
      counters: { announcesStored: 0, announcesBadToken: 0, announcesRefusedAddress: 0 },
    };
    this.rpc.onQuery((query, from) => {
      const name = query.method === 'unknown' ? 'unknown' : query.method;
      this.queriesReceived[name] = (this.queriesReceived[name] ?? 0) + 1;
      const now = this.clock.now();
      // BEP 43: a read-only node is answered but never added.
      if (!query.readOnly) this.noteQuerier(query.id, from, now);
      return handleQuery(this.handlerCtx, query, from, now);
    });
  }

  get id(): NodeId {
    return this.currentId;
  }

  get table(): RoutingTable {
    return this.currentTable;
  }

  /**
   * Takes a new id and rebuilds the routing table around it: contacts are re-added in order of last
   * response (k-bucket decides anew which fit). Stored peers and tokens are unaffected.
   */
  adoptId(id: NodeId): void {
    const now = this.clock.now();
    const old = this.currentTable.all().sort((a, b) => b.lastResponse - a.lastResponse);
    this.currentId = id;
    this.currentTable = new RoutingTable({ localId: id, k: this.k, allowLocal: this.allowLocal, bep42: this.bep42, family: this.family, onePerIp: this.onePerIp }, now);
    for (const c of old) {
      if (this.currentTable.heardFrom(c.id, c, c.lastResponse || now).status === 'added') {
        const added = this.currentTable.get(c.id);
        if (added) added.lastQuery = c.lastQuery;
      }
    }
    this.handlerCtx.localId = id;
    this.handlerCtx.table = this.currentTable;
  }

  /** BEP 32: the other family's table, for queries whose `want` asks for both. */
  setSibling(other: DhtNode | undefined): void {
    this.handlerCtx.sibling = () => other?.table;
  }

  /** Replaces the bootstrap list (e.g. after resolving host names). */
  setBootstrap(nodes: readonly PeerAddress[]): void {
    this.bootstrapNodes = [...nodes];
  }

  /** Starts periodic maintenance. */
  start(): void {
    if (this.maintenanceTimer || this.closed) return;
    const loop = (): void => {
      this.maintenanceTimer = this.clock.setTimeout(loop, MAINTENANCE_INTERVAL_MS);
      this.maintain();
    };
    this.maintenanceTimer = this.clock.setTimeout(loop, MAINTENANCE_INTERVAL_MS);
  }

  /** A node that queried us enters the table only after answering a ping of ours (BEP 5: good = answered). */
  private noteQuerier(id: Uint8Array, from: PeerAddress, now: number): void {
    if (this.table.queriedBy(id, from, now) || this.readOnly) return;
    const key = `${from.host}/${from.port}`;
    if (this.verifying.has(key) || this.verifying.size >= MAX_VERIFY_PINGS) return;
    if (!this.table.admissible(id, from)) return;
    this.verifying.add(key);
    this.verifyPings++;
    this.queryNode(from, { method: 'ping' }).then(
      () => this.verifying.delete(key),
      () => this.verifying.delete(key),
    );
  }

  /** Sends one query; a reply refreshes the node in the table, a timeout counts against it. */
  async queryNode(to: PeerAddress, args: QueryArgs, signal?: AbortSignal, knownId?: Uint8Array): Promise<RpcAnswer> {
    try {
      const answer = await this.rpc.query(to, this.id, args, signal);
      const body = answer.response.body;
      if (answer.response.ip) this.voteIp(answer.response.ip);
      this.admit(toNodeId(body.id), answer.from);
      return answer;
    } catch (err) {
      if (knownId && (err as { code?: string }).code === 'rpc_timeout') this.table.failed(knownId, this.clock.now());
      throw err;
    }
  }

  private admit(id: NodeId, from: PeerAddress): void {
    const now = this.clock.now();
    const result = this.table.heardFrom(id, from, now);
    if (result.status === 'pending') {
      const stale = result.ping;
      this.queryNode(stale, { method: 'ping' }).catch(() => {
        // The ping (with its retry) went unanswered: bad now, and the newcomer takes its place.
        for (let i = stale.failures; i < MAX_NODE_FAILURES; i++) this.table.failed(stale.id, this.clock.now());
      });
    }
  }

  private voteIp(ip: PeerAddress): void {
    const votes = (this.ipVotes.get(ip.host) ?? 0) + 1;
    if (this.ipVotes.size > 64) this.ipVotes.clear();
    this.ipVotes.set(ip.host, votes);
    if (this.deriveIdFromIp) {
      const external = this.externalIp();
      if (external !== undefined && !isValidIdForAddress(this.id, external)) {
        const id = idForAddress(external, this.random);
        if (id) {
          this.log.info('taking a BEP 42 id for our external address', { ip: external });
          this.adoptId(id);
        }
      }
    }
  }

  /** Our external IP as most responders report it (BEP 42), once at least two agree. */
  externalIp(): string | undefined {
    let best: string | undefined;
    let bestVotes = 1;
    for (const [host, votes] of this.ipVotes) if (votes > bestVotes) [best, bestVotes] = [host, votes];
    return best;
  }

  private acceptNode = (node: CompactNodeInfo): boolean =>
    node.port !== 0 && familyOf(node.host) === this.family && !bytesEqual(node.id, this.id) && isAcceptableAddress(node.host, this.allowLocal);

  /**
   * Lookup seeds: the table's closest nodes; while the table is thin, saved contacts closest to the target
   * too, and the bootstrap nodes last (an unanswering seed costs a lookup only LOOKUP_SLOW_MS).
   */
  private seedsFor(target: Uint8Array): LookupSeed[] {
    const seeds: LookupSeed[] = this.table.closest(target, this.k, this.clock.now());
    if (seeds.length >= this.k) return seeds;
    const hints = this.hints.slice().sort((a, b) => compareDistance(a.id, b.id, target));
    for (const h of hints.slice(0, this.k)) seeds.push(h);
    for (const b of this.bootstrapNodes) seeds.push({ host: b.host, port: b.port });
    return seeds;
  }

  /** Remembers saved contacts as lookup seeds (bounded); they enter the table only by answering. */
  addHints(contacts: readonly CompactNodeInfo[]): void {
    const usable = contacts.filter(this.acceptNode);
    this.hints = [...usable, ...this.hints].slice(0, MAX_HINTS);
  }

  /**
   * Pings saved contacts (RESTORE_CONCURRENCY at a time); those that answer enter the table. Resolves with
   * how many answered. A restarted node is routable again after this, without the bootstrap routers.
   */
  async restore(contacts: readonly CompactNodeInfo[], signal?: AbortSignal): Promise<number> {
    this.addHints(contacts);
    const queue = contacts.filter(this.acceptNode).slice(0, MAX_HINTS);
    let answered = 0;
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c && !this.closed; c = queue.shift()) {
        try {
          await this.queryNode(c, { method: 'ping' }, signal);
          answered++;
        } catch {
          // gone since the last run
        }
      }
    };
    await Promise.all(Array.from({ length: RESTORE_CONCURRENCY }, worker));
    return answered;
  }

  /** An iterative lookup toward `target`, as an async iterable of events. */
  lookup(target: Uint8Array, request: LookupRequest): AsyncGenerator<LookupEvent, LookupSummary> {
    const args: QueryArgs = request.getPeers ? { method: 'get_peers', infoHash: target } : { method: 'find_node', target };
    return lookup(
      {
        clock: this.clock,
        query: async (node, signal) => {
          const { response } = await this.queryNode(node, args, signal, node.id);
          const b = response.body;
          return { id: b.id, nodes: (this.family === 6 ? b.nodes6 : b.nodes) ?? [], values: b.values, token: b.token };
        },
      },
      {
        target,
        seeds: this.seedsFor(target),
        alpha: this.alpha,
        k: this.k,
        accept: this.acceptNode,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
      },
    );
  }

  /** Joins the network: a lookup for our own id, from the table or the bootstrap list. */
  bootstrap(signal?: AbortSignal): Promise<LookupSummary> {
    this.bootstrapping ??= this.runSelfLookup(signal).finally(() => {
      this.bootstrapping = undefined;
    });
    return this.bootstrapping;
  }

  /**
   * The self-lookup fills the buckets near our id; the far ranges (half, quarter, eighth of the id space)
   * would stay empty until their refresh, and a node with nothing in the far half cannot route there. So
   * they are refreshed right away, as Kademlia's join prescribes.
   */
  private async runSelfLookup(signal?: AbortSignal): Promise<LookupSummary> {
    const request = { getPeers: false, ...(signal ? { signal } : {}) };
    const summary = await this.drain(this.lookup(this.id, request));
    const now = this.clock.now();
    const ranges = [0, 1, 2].filter((r) => r < this.table.depth());
    for (const r of ranges) this.table.touchRange(r, now);
    await Promise.all(ranges.map((r) => this.drain(this.lookup(randomIdWithPrefix(this.random, this.id, r), request))));
    return summary;
  }

  /**
   * Announces that we have `infoHash` (BEP 5 announce_peer) to the nodes a get_peers lookup found, with
   * their tokens. With `impliedPort` the receivers take our packets' source port as the peer port.
   */
  async announce(infoHash: Uint8Array, closest: readonly ClosestNode[], port: number | undefined, signal?: AbortSignal): Promise<{ ok: number; failed: number }> {
    const impliedPort = port === undefined;
    const results = await Promise.allSettled(
      closest
        .filter((n) => n.token !== undefined)
        .map((n) =>
          this.queryNode(n, { method: 'announce_peer', infoHash, port: port ?? 0, impliedPort, token: n.token as Uint8Array }, signal, n.id),
        ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    return { ok, failed: results.length - ok };
  }

  /** One round of maintenance: expire peers, ping the stalest questionable node, refresh one stale range. */
  private maintain(): void {
    const now = this.clock.now();
    this.peers.expire(now);
    if (this.closed) return;
    if (this.table.goodCount(now) < MIN_HEALTHY_NODES) {
      // Network loss or a failed join: try again, from saved contacts and the table first (seedsFor),
      // backing off exponentially so a node cut off from the network does not hammer the routers.
      if (!this.bootstrapping && now >= this.nextRebootstrapAt && this.bootstrapNodes.length + this.table.size + this.hints.length > 0) {
        this.nextRebootstrapAt = now + this.rebootstrapDelay;
        this.rebootstrapDelay = Math.min(this.rebootstrapDelay * 2, MAX_REBOOTSTRAP_DELAY_MS);
        this.bootstrap().catch((err: unknown) => this.log.debug('re-bootstrap failed', { err: String(err) }));
      }
      return;
    }
    this.rebootstrapDelay = MAINTENANCE_INTERVAL_MS;
    // A steady trickle rather than bursts: one find_node per tick to the node heard from least recently,
    // which both checks it (BEP 5 questionable -> good or bad) and shows us its neighbourhood.
    const stale = this.table.stalestQuestionable(now);
    if (stale) {
      this.queryNode(stale, { method: 'find_node', target: randomIdWithPrefix(this.random, stale.id, 8) }, undefined, stale.id).catch(() => undefined);
    }
    if (!this.refreshing) {
      const range = this.table.staleRanges(now)[0];
      if (range !== undefined) {
        this.refreshing = true;
        this.table.touchRange(range, now);
        const target = randomIdWithPrefix(this.random, this.id, range);
        this.drain(this.lookup(target, { getPeers: false }))
          .catch(() => undefined)
          .finally(() => {
            this.refreshing = false;
          });
      }
    }
  }

  /** Runs a lookup for its side effects (table updates) and returns its summary. */
  private async drain(events: AsyncGenerator<LookupEvent, LookupSummary>): Promise<LookupSummary> {
    let summary: LookupSummary | undefined;
    for await (const e of events) if (e.type === 'done') summary = e.summary;
    return summary as LookupSummary;
  }

  stats(): DhtNodeStats {
    const now = this.clock.now();
    return {
      nodes: this.table.size,
      goodNodes: this.table.goodCount(now),
      depth: this.table.depth(),
      storedInfoHashes: this.peers.infoHashCount,
      storedPeers: this.peers.size,
      queriesReceived: { ...this.queriesReceived },
      ...this.handlerCtx.counters,
      verifyPings: this.verifyPings,
      rpc: { ...this.rpc.stats, dropped: { ...this.rpc.stats.dropped } },
      table: this.table.stats,
    };
  }

  /** Stops maintenance and fails pending queries. The transport is the caller's to close. */
  close(): void {
    this.closed = true;
    if (this.maintenanceTimer) this.clock.clearTimeout(this.maintenanceTimer);
    this.rpc.close();
  }
}
