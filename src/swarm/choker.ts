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
/**
 * Regular slots of a leecher whose upload is limited (--upload-limit). Each unchoked peer pulls only what its
 * own pipeline and picker want from us, so with four the limited upload went partly unused in a mixed swarm
 * (16 leechers at 2 and 0.5 MiB/s: 77-83% used, last leecher at 1.18-1.26 x T_min); with eight, 86-96% and
 * 1.01-1.13 (docs/choker.md). The limit still caps the rate, so more slots cannot oversubscribe the link.
 */
export const LIMITED_UPLOAD_SLOTS = 8;

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
  /** Seeding round-robin: when each current regular peer got its slot. */
  regularSince: ReadonlyMap<PeerKey, number>;
  /** Seeding round-robin: when each peer last lost a regular slot (never served = absent, first in line). */
  lastServed: ReadonlyMap<PeerKey, number>;
}

export const INITIAL_CHOKER_STATE: ChokerState = { optimistic: undefined, optimisticSince: -Infinity, regularSince: new Map(), lastServed: new Map() };

/**
 * Seeding: a regular slot is held this long, then handed to the peer that has waited longest. A seed has
 * nothing to gain from reciprocation, so it shares its upload fairly (libtorrent's round-robin seeding
 * choker) rather than feeding the same four fastest peers forever.
 */
export const SEED_SLOT_MS = 30_000;

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

  // Regular slots: interested, not snubbed. A Fisher-Yates shuffle before each stable sort makes ties (all
  // rates zero at start) a fair draw rather than connection order.
  const candidates = shuffle(random, peers.filter((p) => p.interested && !p.snubbed));
  let regular: PeerKey[];
  if (!options.seeding) {
    // Leeching, tit-for-tat: those we download fastest from.
    candidates.sort((a, b) => rate(b) - rate(a));
    regular = candidates.slice(0, slots).map((p) => p.key);
  } else {
    // Seeding, round-robin: slots younger than SEED_SLOT_MS are kept (fastest first if too many), the rest
    // go to the peers that have waited longest since their last slot.
    const held = candidates.filter((p) => {
      const since = state.regularSince.get(p.key);
      return since !== undefined && now - since < SEED_SLOT_MS;
    });
    held.sort((a, b) => rate(b) - rate(a));
    const kept = held.slice(0, slots);
    const keptSet = new Set(kept.map((p) => p.key));
    const waiting = candidates.filter((p) => !keptSet.has(p.key));
    // A holder whose slot just expired was served until now: behind everyone who waited.
    const servedAt = (p: ChokerPeer): number => (state.regularSince.has(p.key) ? now : (state.lastServed.get(p.key) ?? -Infinity));
    waiting.sort((a, b) => servedAt(a) - servedAt(b));
    regular = [...kept, ...waiting.slice(0, slots - kept.length)].map((p) => p.key);
  }
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
  // Slot bookkeeping, limited to connected peers so the maps never outgrow the peer list.
  const regularSince = new Map<PeerKey, number>();
  for (const k of regular) regularSince.set(k, state.regularSince.get(k) ?? now);
  const lastServed = new Map<PeerKey, number>();
  for (const p of peers) {
    const served = state.regularSince.has(p.key) && !regularSet.has(p.key) ? now : state.lastServed.get(p.key);
    if (served !== undefined) lastServed.set(p.key, served);
  }
  return { unchoke, regular, optimistic, state: { optimistic, optimisticSince: since, regularSince, lastServed } };
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
