/**
 * The choker: which peers we upload to. A pure function of the peers' measured rates and flags, `now`, a
 * Random and the previous round's state; the session calls it on a timer (every CHOKE_INTERVAL_MS) and
 * applies the difference. docs/choker.md is the prose specification.
 *
 * BEP 3 ("choking") describes the algorithm: a fixed number of regular slots given to the interested peers
 * that reciprocate best, plus one optimistic unchoke that rotates every 30 seconds to discover better
 * partners and to bootstrap newcomers who have nothing to trade yet.
 */
import { shuffle, type Random } from '../util/random.js';
import type { PeerKey } from './availability.js';

/** BEP 3: "unchoking the four peers which have the best upload rate". */
export const REGULAR_SLOTS = 4;
/** BEP 3: "reciprocation and number of uploads capping is managed by unchoking ... every ten seconds". */
export const CHOKE_INTERVAL_MS = 10_000;
/** BEP 3: "optimistic unchoking ... rotates every 30 seconds". */
export const OPTIMISTIC_INTERVAL_MS = 30_000;
/** The original client made newly connected peers three times as likely to be the optimistic unchoke. */
export const NEW_PEER_WEIGHT = 3;
/** A peer counts as new for the weighting above during its first minute (one choke round is 10 s). */
export const NEW_PEER_AGE_MS = 60_000;

/** What the choker needs to know about one connected peer. */
export interface ChokerPeer {
  key: PeerKey;
  /** The peer wants data from us (it sent `interested`). */
  interested: boolean;
  /** Payload bytes/s we receive from it (tit-for-tat while leeching). */
  downloadRate: number;
  /** Payload bytes/s we send to it (the seeding order). */
  uploadRate: number;
  /** It has unchoked us yet sent nothing for a minute: it gets no regular slot (optimistic only). */
  snubbed: boolean;
  /** Clock time at which the connection was established. */
  connectedAt: number;
}

/** Carried from one round to the next. */
export interface ChokerState {
  optimistic: PeerKey | undefined;
  /** When the optimistic peer was chosen. */
  optimisticSince: number;
}

export const INITIAL_CHOKER_STATE: ChokerState = { optimistic: undefined, optimisticSince: -Infinity };

export interface ChokerOptions {
  /** We have every piece: rank by upload rate instead of download rate. */
  seeding: boolean;
  /** Default REGULAR_SLOTS. */
  slots?: number;
}

export interface ChokerResult {
  /** Peers to have unchoked after this round; every other peer is choked. */
  unchoke: Set<PeerKey>;
  /** The regular (rate-ranked) part of `unchoke`. */
  regular: PeerKey[];
  optimistic: PeerKey | undefined;
  state: ChokerState;
}

/** One choke round. */
export function chokeRound(
  peers: readonly ChokerPeer[],
  now: number,
  random: Random,
  state: ChokerState,
  options: ChokerOptions,
): ChokerResult {
  const slots = options.slots ?? REGULAR_SLOTS;
  const rate = (p: ChokerPeer): number => (options.seeding ? p.uploadRate : p.downloadRate);

  // Regular slots: interested, not snubbed, best rate first. A Fisher-Yates shuffle before the stable sort
  // makes equal rates (all zero at start) a fair draw rather than connection order.
  const candidates = shuffle(random, peers.filter((p) => p.interested && !p.snubbed));
  candidates.sort((a, b) => rate(b) - rate(a));
  const regular = candidates.slice(0, slots).map((p) => p.key);
  const regularSet = new Set(regular);

  // Optimistic slot: kept for OPTIMISTIC_INTERVAL_MS while it stays connected, interested and outside the
  // regular set; otherwise re-drawn among interested peers outside the regular set, newcomers weighted.
  const byKey = new Map(peers.map((p) => [p.key, p]));
  let optimistic = state.optimistic;
  let since = state.optimisticSince;
  const current = optimistic === undefined ? undefined : byKey.get(optimistic);
  const keep =
    current !== undefined && current.interested && !regularSet.has(current.key) && now - since < OPTIMISTIC_INTERVAL_MS;
  if (!keep) {
    const pool = peers.filter((p) => p.interested && !regularSet.has(p.key));
    optimistic = weightedPick(random, pool, now)?.key;
    since = now;
  }
  const unchoke = new Set(regular);
  if (optimistic !== undefined) unchoke.add(optimistic);
  return { unchoke, regular, optimistic, state: { optimistic, optimisticSince: since } };
}

/** A peer drawn with weight NEW_PEER_WEIGHT if connected less than NEW_PEER_AGE_MS ago, else 1. */
function weightedPick(random: Random, pool: readonly ChokerPeer[], now: number): ChokerPeer | undefined {
  if (pool.length === 0) return undefined;
  const weight = (p: ChokerPeer): number => (now - p.connectedAt < NEW_PEER_AGE_MS ? NEW_PEER_WEIGHT : 1);
  let total = 0;
  for (const p of pool) total += weight(p);
  let r = random.int(total);
  for (const p of pool) {
    r -= weight(p);
    if (r < 0) return p;
  }
  return pool[pool.length - 1];
}
