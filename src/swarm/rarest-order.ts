/**
 * Rarest first, the picker's order for new pieces (docs/picker.md, rule 3): the candidates (pieces the peer
 * has that nobody started and we lack) with the fewest holders first, ties in uniformly random order.
 *
 * It is drawn lazily: each bucket of equal availability is collected by one pass over the pieces, rarest
 * first, and shuffled only as far as it is read (an incremental Fisher-Yates), since a pick usually needs a
 * piece or two, not an ordering of all. And it is kept: the next pick for the same peer goes on drawing from
 * it, skipping pieces started or verified since, until an availability count changes or a piece becomes a
 * candidate again. From seeds, where no count moves, this removed a pass over 4,096 pieces per pick (8% of
 * a 1 GiB download's main thread).
 */
import { drawAt, type Random } from '../util/random.js';
import type { Bitfield } from './bitfield.js';

/** Per-piece counts that rarest first orders by; Availability implements it. */
export interface AvailabilitySource {
  count(index: number): number;
  /** Changes whenever any count (or any peer's pieces) may have changed: a kept order is dropped then. */
  readonly version: number;
}

/** What a kept order was made for, and how far it got: the bucket of pieces with `count` holders. */
interface Kept {
  readonly peerPieces: Bitfield;
  readonly version: number;
  readonly refreshed: number;
  count: number;
  bucket: number[];
  /** The first `drawn` entries of `bucket` are shuffled and used. */
  drawn: number;
}

export class RarestOrder {
  private kept: Kept | undefined;

  constructor(private readonly deps: { random: Random; availability: AvailabilitySource; pieceCount: number }) {}

  /**
   * The candidates among `peerPieces`, rarest first; `isCandidate` says which pieces may be started now.
   * `refreshed` must change whenever a piece becomes a candidate again (a started piece dropped after a
   * failed hash): the kept order would lack it. Draw only what will be used: a drawn piece is spent.
   */
  *draw(peerPieces: Bitfield, isCandidate: (index: number) => boolean, refreshed: number): Generator<number> {
    const { random, availability, pieceCount } = this.deps;
    let kept = this.kept;
    if (kept === undefined || kept.peerPieces !== peerPieces || kept.version !== availability.version || kept.refreshed !== refreshed) {
      kept = this.kept = { peerPieces, version: availability.version, refreshed, count: -1, bucket: [], drawn: 0 };
    }
    for (;;) {
      const { bucket } = kept;
      while (kept.drawn < bucket.length) {
        const picked = drawAt(random, bucket, kept.drawn++);
        if (isCandidate(picked)) yield picked;
      }
      // The next bucket: the fewest holders above the current bucket's count. Once none is left the order
      // stays spent until it is dropped: near the end every pick would otherwise rescan every piece for nothing.
      if (kept.count === Infinity) return;
      let min = Infinity;
      let next: number[] = [];
      for (let i = 0; i < pieceCount; i++) {
        if (!isCandidate(i)) continue;
        const c = availability.count(i);
        if (c <= kept.count || c > min) continue;
        if (c < min) {
          min = c;
          next = [];
        }
        next.push(i);
      }
      kept.count = min;
      if (min === Infinity) return;
      kept.bucket = next;
      kept.drawn = 0;
    }
  }
}
