/**
 * The piece picker: which blocks to ask a peer for next. It owns no sockets and no timers; the session tells
 * it what happened (a block arrived, a peer left, a piece verified or failed) and asks it for requests.
 * docs/picker.md is the prose specification; keep the two in step.
 *
 * Order of preference for one peer, among pieces that peer has and we have not verified:
 *   1. blocks of pieces already under way (oldest started first), so partial pieces complete and can be
 *      verified and shared instead of many pieces sitting half done;
 *   2. while we hold fewer than `randomFirstPieces` verified pieces: whole new pieces chosen uniformly at
 *      random, because a newcomer's priority is to have something to trade, and the rarest piece is by
 *      definition the slowest to fetch;
 *   3. otherwise new pieces rarest first (fewest peers have it), ties broken uniformly at random by a
 *      Fisher-Yates shuffle of each availability bucket (never a random sort);
 *   4. endgame: once every block of every missing piece is received or requested, blocks already requested
 *      from other peers may be requested again from this one; the first copy to arrive wins and the session
 *      cancels the others (it is told which peers to cancel by `blockReceived`).
 */
import { drawAt, shuffle, type Random } from '../util/random.js';
import { Bitfield } from './bitfield.js';
import type { PeerKey } from './availability.js';
import { RarestOrder, type AvailabilitySource } from './rarest-order.js';

export type { AvailabilitySource } from './rarest-order.js';

/** BEP 3: "All current implementations use 2^14 (16 kiB)", and most peers refuse larger requests. */
export const BLOCK_SIZE = 16 * 1024;

/** Pieces fetched in random order before rarest first begins (libtorrent's initial_picker_threshold is 4). */
export const RANDOM_FIRST_PIECES = 4;

/** A request for one block: the `request`/`cancel`/`piece` triple of BEP 3. */
export interface BlockRequest {
  index: number;
  begin: number;
  length: number;
}


export interface PickerDeps {
  random: Random;
  availability: AvailabilitySource;
}

export interface PickerOptions {
  pieceCount: number;
  /** Nominal piece length from the info dictionary. */
  pieceLength: number;
  /** Total payload length; the last piece holds what remains. */
  totalLength: number;
  /** Default BLOCK_SIZE. */
  blockSize?: number;
  /** Default RANDOM_FIRST_PIECES. */
  randomFirstPieces?: number;
}

/** What `blockReceived` found. */
export interface BlockOutcome {
  /** 'new': stored; 'duplicate': already had it (an endgame race); 'invalid': not a block of a missing piece. */
  status: 'new' | 'duplicate' | 'invalid';
  /** True when this block completed the piece: the caller should verify it now. */
  pieceComplete: boolean;
  /** Other peers that had this block requested; the caller sends them `cancel`. */
  cancel: PeerKey[];
}

/** Bookkeeping for a piece that has been started and is not yet verified. */
interface PieceState {
  readonly blocks: number;
  /** Who delivered each block (undefined = not yet received). Kept to blame a piece that fails its hash. */
  readonly sources: (PeerKey | undefined)[];
  /** Who each block is currently requested from. */
  readonly requesters: (Set<PeerKey> | undefined)[];
  received: number;
  /**
   * Every block before this one is received or requested, so the search for free blocks starts here. Moved
   * back when a request is released (`freed`); a pick would otherwise rescan a piece's taken blocks.
   */
  firstFree: number;
}

export class PiecePicker {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly blockSize: number;
  private readonly randomFirst: number;
  private readonly random: Random;
  /** Verified pieces. */
  private readonly have: Bitfield;
  /** Started, unverified pieces, in the order they were started (Map keeps insertion order). */
  private readonly partial = new Map<number, PieceState>();
  /** Outstanding requests per peer, as numeric keys (index * blocksPerPiece + block) for O(1) release. */
  private readonly byPeer = new Map<PeerKey, Set<number>>();
  /** 1 for each piece in `partial`: the scan for new pieces reads this instead of the map. */
  private readonly started: Uint8Array;
  /** Blocks in a full piece: the stride of the request keys above. */
  private readonly blocksPerPiece: number;
  /** Bumped when a started piece becomes fresh again (a failed hash): a kept rarest-first order lacks it. */
  private refreshed = 0;
  private readonly rarest: RarestOrder;

  constructor(deps: PickerDeps, options: PickerOptions) {
    const { pieceCount, pieceLength, totalLength } = options;
    if (!(Number.isSafeInteger(pieceCount) && pieceCount >= 0)) throw new RangeError('bad piece count');
    if (!(Number.isSafeInteger(pieceLength) && pieceLength > 0)) throw new RangeError('bad piece length');
    if (!(Number.isSafeInteger(totalLength) && totalLength >= 0)) throw new RangeError('bad total length');
    if (Math.ceil(totalLength / pieceLength) !== pieceCount) {
      throw new RangeError(`total ${totalLength} / piece ${pieceLength} does not make ${pieceCount} pieces`);
    }
    this.pieceCount = pieceCount;
    this.pieceLength = pieceLength;
    this.totalLength = totalLength;
    this.blockSize = options.blockSize ?? BLOCK_SIZE;
    this.randomFirst = options.randomFirstPieces ?? RANDOM_FIRST_PIECES;
    this.random = deps.random;
    this.have = new Bitfield(pieceCount);
    this.blocksPerPiece = Math.ceil(pieceLength / this.blockSize);
    this.started = new Uint8Array(pieceCount);
    this.rarest = new RarestOrder({ random: deps.random, availability: deps.availability, pieceCount });
  }

  /** Byte length of piece `index` (the last one may be shorter). */
  pieceSize(index: number): number {
    return index === this.pieceCount - 1 ? this.totalLength - index * this.pieceLength : this.pieceLength;
  }

  /** Number of blocks in piece `index`. */
  blockCount(index: number): number {
    return Math.ceil(this.pieceSize(index) / this.blockSize);
  }

  /** The request for block `block` of piece `index`. */
  blockRequest(index: number, block: number): BlockRequest {
    const begin = block * this.blockSize;
    return { index, begin, length: Math.min(this.blockSize, this.pieceSize(index) - begin) };
  }

  /** Our verified pieces (a live view: do not modify). */
  get verified(): Bitfield {
    return this.have;
  }

  /** True when every piece is verified. */
  isComplete(): boolean {
    return this.have.isComplete();
  }

  /**
   * Up to `count` new requests for `peer`, which has `peerPieces`, recorded as outstanding to that peer.
   * Never a verified piece, never a piece the peer lacks, never a block already requested from this peer.
   */
  pick(peer: PeerKey, peerPieces: Bitfield, count: number): BlockRequest[] {
    const out: BlockRequest[] = [];
    if (count <= 0) return out;
    // 1. Pieces under way.
    for (const [index, state] of this.partial) {
      if (out.length >= count) return out;
      if (peerPieces.has(index)) this.takeFree(peer, index, state, count, out);
    }
    if (out.length >= count) return out;
    // 2./3. New pieces, lazily ordered: a pick usually needs a handful of them, not an ordering of all.
    // A piece is drawn only when there is room for it (the rarest-first order would lose one drawn unused).
    const ordered = this.have.count() < this.randomFirst ? randomOrder(this.random, this.fresh(peerPieces)) : this.rarest.draw(peerPieces, (i) => this.isFresh(i, peerPieces), this.refreshed);
    while (out.length < count) {
      const next = ordered.next();
      if (next.done === true) break;
      this.takeFree(peer, next.value, this.start(next.value), count, out);
    }
    if (out.length >= count || !this.inEndgame()) return out;
    // 4. Endgame: duplicate requests, in random order so that peers spread over the remaining blocks.
    const dup: Array<[number, number]> = [];
    for (const [index, state] of this.partial) {
      if (!peerPieces.has(index)) continue;
      for (let b = 0; b < state.blocks; b++) {
        if (state.sources[b] === undefined && !(state.requesters[b]?.has(peer) ?? false)) dup.push([index, b]);
      }
    }
    for (const [index, b] of shuffle(this.random, dup)) {
      if (out.length >= count) break;
      this.markRequested(peer, index, this.partial.get(index) as PieceState, b);
      out.push(this.blockRequest(index, b));
    }
    return out;
  }

  /**
   * Endgame holds when no block of a missing piece is still free: each is received or requested. A piece
   * not yet started has free blocks, so the scan stops at the first one.
   */
  inEndgame(): boolean {
    if (this.have.isComplete()) return false;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have.has(i)) continue;
      const state = this.partial.get(i);
      if (state === undefined) return false;
      for (let b = 0; b < state.blocks; b++) {
        if (state.sources[b] === undefined && (state.requesters[b]?.size ?? 0) === 0) return false;
      }
    }
    return true;
  }

  /**
   * A block arrived from `peer`. It is accepted if it is exactly one of our blocks of a missing piece
   * (requested from this peer or not: a late reply after a cancel is still good data, and the hash check
   * guards the rest).
   */
  blockReceived(peer: PeerKey, index: number, begin: number, length: number): BlockOutcome {
    const invalid: BlockOutcome = { status: 'invalid', pieceComplete: false, cancel: [] };
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) return invalid;
    if (begin % this.blockSize !== 0) return invalid;
    const block = begin / this.blockSize;
    if (block >= this.blockCount(index) || this.blockRequest(index, block).length !== length) return invalid;
    if (this.have.has(index)) return { status: 'duplicate', pieceComplete: false, cancel: [] };
    const state = this.partial.get(index) ?? this.start(index);
    const requesters = state.requesters[block];
    const cancel: PeerKey[] = [];
    if (requesters !== undefined) {
      for (const p of requesters) {
        this.byPeer.get(p)?.delete(this.key(index, block));
        if (p !== peer) cancel.push(p);
      }
      state.requesters[block] = undefined;
    }
    if (state.sources[block] !== undefined) return { status: 'duplicate', pieceComplete: false, cancel };
    state.sources[block] = peer;
    state.received++;
    return { status: 'new', pieceComplete: state.received === state.blocks, cancel };
  }

  /** A request to `peer` will not be answered (rejected, timed out, or dropped by a choke): free the block. */
  release(peer: PeerKey, req: BlockRequest): void {
    const block = req.begin / this.blockSize;
    const state = this.partial.get(req.index);
    this.byPeer.get(peer)?.delete(this.key(req.index, block));
    if (state !== undefined && state.requesters[block]?.delete(peer) === true) this.freed(state, block);
  }

  /** Frees every request outstanding to `peer` (it left or choked us). Returns what was freed. */
  releasePeer(peer: PeerKey): BlockRequest[] {
    const keys = this.byPeer.get(peer);
    this.byPeer.delete(peer);
    const freed: BlockRequest[] = [];
    if (keys === undefined) return freed;
    for (const k of keys) {
      const index = Math.floor(k / this.blocksPerPiece);
      const block = k - index * this.blocksPerPiece;
      const state = this.partial.get(index);
      if (state !== undefined && state.requesters[block]?.delete(peer) === true) this.freed(state, block);
      freed.push(this.blockRequest(index, block));
    }
    return freed;
  }

  /** Requests outstanding to `peer`. */
  outstanding(peer: PeerKey): number {
    return this.byPeer.get(peer)?.size ?? 0;
  }

  /**
   * Piece `index` passed its hash check (or was found intact on disk at start). Returns the peers that
   * still had blocks of it requested, for cancelling.
   */
  pieceVerified(index: number): PeerKey[] {
    const cancel = this.dropPiece(index);
    this.have.set(index);
    return cancel;
  }

  /**
   * Piece `index` failed its hash check: every block is free again. Returns the distinct peers that
   * contributed blocks, so the session can blame them.
   */
  pieceFailed(index: number): PeerKey[] {
    const state = this.partial.get(index);
    const contributors = new Set<PeerKey>();
    if (state !== undefined) for (const s of state.sources) if (s !== undefined) contributors.add(s);
    this.dropPiece(index);
    return [...contributors];
  }

  /** Blocks of missing pieces not yet received (for tests and progress). */
  missingBlocks(): BlockRequest[] {
    const out: BlockRequest[] = [];
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.have.has(i)) continue;
      const state = this.partial.get(i);
      for (let b = 0; b < this.blockCount(i); b++) if (state?.sources[b] === undefined) out.push(this.blockRequest(i, b));
    }
    return out;
  }

  private start(index: number): PieceState {
    const blocks = this.blockCount(index);
    const state: PieceState = { blocks, sources: new Array(blocks).fill(undefined), requesters: new Array(blocks).fill(undefined), received: 0, firstFree: 0 };
    this.partial.set(index, state);
    this.started[index] = 1;
    return state;
  }

  private dropPiece(index: number): PeerKey[] {
    const state = this.partial.get(index);
    const cancel = new Set<PeerKey>();
    if (state !== undefined) {
      state.requesters.forEach((set, b) => {
        for (const p of set ?? []) {
          this.byPeer.get(p)?.delete(this.key(index, b));
          cancel.add(p);
        }
      });
      this.partial.delete(index);
      this.started[index] = 0;
      this.refreshed++;
    }
    return [...cancel];
  }

  /** Takes blocks of `state` that nobody has requested and nobody delivered, in block order. */
  private takeFree(peer: PeerKey, index: number, state: PieceState, count: number, out: BlockRequest[]): void {
    let b = state.firstFree;
    while (b < state.blocks && isTaken(state, b)) b++;
    state.firstFree = b;
    for (; b < state.blocks && out.length < count; b++) {
      if (isTaken(state, b)) continue;
      this.markRequested(peer, index, state, b);
      out.push(this.blockRequest(index, b));
    }
  }

  /** A request for `block` was dropped; if nobody else has it requested and it is not received, it is free. */
  private freed(state: PieceState, block: number): void {
    if (block < state.firstFree && !isTaken(state, block)) state.firstFree = block;
  }

  private key(index: number, block: number): number {
    return index * this.blocksPerPiece + block;
  }

  private markRequested(peer: PeerKey, index: number, state: PieceState, block: number): void {
    let set = state.requesters[block];
    if (set === undefined) state.requesters[block] = set = new Set();
    set.add(peer);
    let mine = this.byPeer.get(peer);
    if (mine === undefined) this.byPeer.set(peer, (mine = new Set()));
    mine.add(this.key(index, block));
  }

  /** Pieces not verified, not started, and held by the peer, in index order. */
  private fresh(peerPieces: Bitfield): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.pieceCount; i++) if (this.isFresh(i, peerPieces)) out.push(i);
    return out;
  }

  private isFresh(i: number, peerPieces: Bitfield): boolean {
    return this.started[i] === 0 && peerPieces.has(i) && !this.have.has(i);
  }
}

/** The items in uniformly random order, drawn one at a time (an incremental Fisher-Yates on `items`). */
function* randomOrder(random: Random, items: number[]): Generator<number> {
  for (let i = 0; i < items.length; i++) yield drawAt(random, items, i);
}

/** Received, or requested from at least one peer. */
function isTaken(state: PieceState, block: number): boolean {
  return state.sources[block] !== undefined || (state.requesters[block]?.size ?? 0) > 0;
}
