/**
 * The iterative Kademlia lookup (BEP 5 "find_node"/"get_peers" searches), independent of the RPC layer:
 * it is handed a `query` function, a target, alpha and K. It keeps candidates sorted by exact XOR distance,
 * keeps up to alpha queries going to the closest unqueried ones, and ends when the K closest candidates
 * still standing have all answered. A query that is slow (LOOKUP_SLOW_MS) frees its slot and stops
 * blocking the end, so dead nodes cost a lookup little time; a late answer is still used.
 *
 * A lookup is an async iterable of typed events; it honours an AbortSignal and an overall deadline.
 */
import { setMaxListeners } from 'node:events';
import type { CompactNodeInfo, PeerAddress } from '../codec/compact.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { compareDistance, type NodeId } from './node-id.js';
import { DEFAULT_ALPHA, DEFAULT_LOOKUP_TIMEOUT_MS, K, LOOKUP_RTT_SAMPLES, LOOKUP_SLOW_MIN_MS, LOOKUP_SLOW_MS, LOOKUP_SLOW_RTT_FACTOR } from './constants.js';

/** What one queried node told us. */
export interface LookupReply {
  id: Uint8Array;
  nodes: readonly CompactNodeInfo[];
  values?: readonly PeerAddress[] | undefined;
  token?: Uint8Array | undefined;
}

/** A node that may be queried: with an id when known (routing table, replies), without for bootstrap hosts. */
export type LookupSeed = PeerAddress & { id?: Uint8Array | undefined };

export type LookupQuery = (node: LookupSeed, signal: AbortSignal) => Promise<LookupReply>;

/** One of the closest nodes that answered, with the token it gave (for announce_peer). */
export interface ClosestNode extends CompactNodeInfo {
  token: Uint8Array | undefined;
}

export interface LookupSummary {
  /** The K closest nodes that answered, nearest first. */
  closest: ClosestNode[];
  queries: number;
  responses: number;
  failures: number;
  /** Queries with no answer when the lookup ended (dead or slow nodes it did not wait for). */
  unanswered: number;
  peers: number;
  ms: number;
  /** 'complete', or why it ended early. */
  outcome: 'complete' | 'timeout' | 'aborted';
}

export type LookupEvent =
  | { type: 'query'; node: LookupSeed }
  | { type: 'response'; node: CompactNodeInfo }
  | { type: 'failure'; node: LookupSeed }
  | { type: 'peer'; peer: PeerAddress }
  | { type: 'done'; summary: LookupSummary };

export interface LookupOptions {
  target: Uint8Array;
  seeds: readonly LookupSeed[];
  alpha?: number;
  k?: number;
  timeoutMs?: number;
  /** Ceiling of the slow-query threshold (see LOOKUP_SLOW_MS); the threshold adapts below it. */
  slowMs?: number;
  /** Upper bound on queries, whatever happens (a hostile network could feed endless new nodes). */
  maxQueries?: number;
  signal?: AbortSignal;
  /** Filters nodes learned from replies (address policy, not ourselves). */
  accept?: (node: CompactNodeInfo) => boolean;
}

export interface LookupDeps {
  clock: Clock;
  query: LookupQuery;
}

type State = 'new' | 'inflight' | 'slow' | 'answered' | 'failed';

interface Candidate {
  node: LookupSeed;
  state: State;
  token: Uint8Array | undefined;
  slowTimer: TimerHandle | undefined;
  /** When the query was sent and when it counts as slow. */
  sentAt: number;
  slowAt: number;
}

/** Enough for the deepest lookups in a network of millions (log2(n)/log2(alpha)*K), with room. */
const DEFAULT_MAX_QUERIES = 300;

/** Runs one lookup; iterate it to drive it. */
export async function* lookup(deps: LookupDeps, options: LookupOptions): AsyncGenerator<LookupEvent, LookupSummary> {
  const { clock } = deps;
  const target = options.target;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const k = options.k ?? K;
  const slowCeiling = options.slowMs ?? LOOKUP_SLOW_MS;
  /** Round trips of answered queries, for the slow threshold. */
  const rtts: number[] = [];
  const slowAfter = (): number => {
    if (rtts.length < LOOKUP_RTT_SAMPLES) return slowCeiling;
    const sorted = rtts.slice().sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1] as number;
    return Math.min(slowCeiling, Math.max(Math.min(LOOKUP_SLOW_MIN_MS, slowCeiling), median * LOOKUP_SLOW_RTT_FACTOR));
  };
  const maxQueries = options.maxQueries ?? DEFAULT_MAX_QUERIES;
  const accept = options.accept ?? (() => true);
  const started = clock.now();

  /** Candidates with a known id, sorted nearest first. */
  const ranked: Candidate[] = [];
  /** Seeds without an id (bootstrap hosts), queried first. */
  const unranked: Candidate[] = [];
  const seenAddress = new Set<string>();
  const seenPeers = new Set<string>();
  const events: LookupEvent[] = [];
  const inner = new AbortController();
  // Every query in flight listens on this one signal; more than Node's default 10 is normal here.
  setMaxListeners(maxQueries + 1, inner.signal);
  let wake: (() => void) | undefined;
  let active = 0;
  let queries = 0;
  let responses = 0;
  let failures = 0;
  let outcome: LookupSummary['outcome'] | undefined;

  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const emit = (e: LookupEvent): void => {
    events.push(e);
    notify();
  };

  const addressKey = (a: PeerAddress): string => `${a.host}/${a.port}`;

  const addCandidate = (node: LookupSeed, state: State = 'new'): Candidate | undefined => {
    const key = addressKey(node);
    if (seenAddress.has(key)) return undefined;
    seenAddress.add(key);
    const c: Candidate = { node, state, token: undefined, slowTimer: undefined, sentAt: 0, slowAt: 0 };
    if (node.id === undefined) {
      unranked.push(c);
      return c;
    }
    const id = node.id;
    let lo = 0;
    let hi = ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance((ranked[mid] as Candidate).node.id as Uint8Array, id, target) < 0) lo = mid + 1;
      else hi = mid;
    }
    ranked.splice(lo, 0, c);
    return c;
  };

  /** (Re)schedules the moment `c` counts as slow. */
  const armSlow = (c: Candidate, at: number): void => {
    if (c.slowTimer) clock.clearTimeout(c.slowTimer);
    c.slowAt = at;
    c.slowTimer = clock.setTimeout(() => {
      if (c.state !== 'inflight') return;
      c.state = 'slow';
      active--;
      pump();
    }, Math.max(0, at - clock.now()));
  };

  /** A new round-trip sample may lower the threshold: queries already out move to the earlier deadline. */
  const tightenSlowDeadlines = (): void => {
    const slow = slowAfter();
    for (const c of [...ranked, ...unranked]) {
      if (c.state === 'inflight' && c.sentAt + slow < c.slowAt) armSlow(c, c.sentAt + slow);
    }
  };

  const finishQuery = (c: Candidate, ok: boolean): void => {
    if (c.slowTimer) clock.clearTimeout(c.slowTimer);
    if (c.state === 'inflight') active--;
    c.state = ok ? 'answered' : 'failed';
  };

  const send = (c: Candidate): void => {
    c.state = 'inflight';
    active++;
    queries++;
    emit({ type: 'query', node: c.node });
    c.sentAt = clock.now();
    armSlow(c, c.sentAt + slowAfter());
    deps.query(c.node, inner.signal).then(
      (reply) => {
        if (outcome) return;
        responses++;
        if (rtts.length < 64) {
          rtts.push(clock.now() - c.sentAt);
          tightenSlowDeadlines();
        }
        finishQuery(c, true);
        c.token = reply.token;
        let node = c.node;
        if (node.id === undefined) {
          // A bootstrap host told us its id: it now ranks like any other node.
          node = { host: c.node.host, port: c.node.port, id: reply.id.slice() };
          const idx = unranked.indexOf(c);
          if (idx >= 0) unranked.splice(idx, 1);
          seenAddress.delete(addressKey(node));
          const placed = accept(node as CompactNodeInfo) ? addCandidate(node, 'answered') : undefined;
          if (placed) placed.token = reply.token;
        }
        emit({ type: 'response', node: node as CompactNodeInfo });
        for (const peer of reply.values ?? []) {
          const key = addressKey(peer);
          if (seenPeers.has(key)) continue;
          seenPeers.add(key);
          emit({ type: 'peer', peer });
        }
        for (const n of reply.nodes) if (accept(n)) addCandidate(n);
        pump();
      },
      () => {
        if (outcome) return;
        failures++;
        finishQuery(c, false);
        emit({ type: 'failure', node: c.node });
        pump();
      },
    );
  };

  /** Starts queries while slots are free; decides when the lookup is complete. */
  const pump = (): void => {
    if (outcome) return;
    for (const c of unranked) if (c.state === 'new' && queries < maxQueries) send(c);
    let window = 0;
    let waiting = false;
    for (const c of ranked) {
      if (window >= k) break;
      if (c.state === 'failed' || c.state === 'slow') continue;
      window++;
      if (c.state === 'new') {
        if (active < alpha && queries < maxQueries) send(c);
        else if (queries < maxQueries) waiting = true;
      }
      if (c.state === 'inflight') waiting = true;
    }
    if (unranked.some((c) => c.state === 'inflight')) waiting = true;
    if (waiting) return;
    // The K closest live candidates have all answered. Slow queries stop blocking the end only once
    // there are K of them; with fewer, a slow node may be all we have (a distant bootstrap router).
    const slowPending = ranked.some((c) => c.state === 'slow') || unranked.some((c) => c.state === 'slow');
    if (window < k && slowPending) return;
    finish('complete');
  };

  const finish = (why: LookupSummary['outcome']): void => {
    if (outcome) return;
    outcome = why;
    clock.clearTimeout(deadline);
    for (const c of [...ranked, ...unranked]) if (c.slowTimer) clock.clearTimeout(c.slowTimer);
    inner.abort();
    notify();
  };

  const deadline = clock.setTimeout(() => finish('timeout'), options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS);
  const onAbort = (): void => finish('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) finish('aborted');

  for (const seed of options.seeds) addCandidate(seed);
  pump();

  try {
    for (;;) {
      while (events.length > 0) yield events.shift() as LookupEvent;
      if (outcome) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    finish('aborted');
    options.signal?.removeEventListener('abort', onAbort);
  }

  const closest: ClosestNode[] = [];
  for (const c of ranked) {
    if (closest.length >= k) break;
    if (c.state === 'answered' && c.node.id) closest.push({ id: c.node.id as NodeId, host: c.node.host, port: c.node.port, token: c.token });
  }
  const summary: LookupSummary = { closest, queries, responses, failures, unanswered: queries - responses, peers: seenPeers.size, ms: clock.now() - started, outcome: outcome ?? 'complete' };
  yield { type: 'done', summary };
  return summary;
}

/** Drives a lookup to its end, calling `onEvent` for each event; resolves with the summary. */
export async function runLookup(deps: LookupDeps, options: LookupOptions, onEvent?: (e: LookupEvent) => void): Promise<LookupSummary> {
  let summary: LookupSummary | undefined;
  for await (const e of lookup(deps, options)) {
    onEvent?.(e);
    if (e.type === 'done') summary = e.summary;
  }
  return summary as LookupSummary;
}
