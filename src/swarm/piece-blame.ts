/**
 * Who sent which block of a piece, to find the culprit when a piece fails its hash (BEP 3 gives no way to
 * tell which block was bad). Each block's sender is remembered; if the piece fails, a SHA-1 of each of its
 * blocks is taken from the failed bytes and kept, and when the piece later verifies the good blocks are
 * compared with them: a sender whose block differs is proven to have sent bad data (libtorrent calls this
 * "smart ban"). Hashing only failed pieces keeps this off the download's hot path.
 *
 * Bounded: records exist only for pieces under way or failed, and failed pieces are capped.
 */
import { createHash } from 'node:crypto';
import { bytesEqual } from '../util/bytes.js';
import type { PeerIdentity } from './ban-list.js';

/** Failed pieces whose block records we keep for comparison; older ones are dropped. */
export const MAX_FAILED_PIECES_TRACKED = 64;

/** The blocks one attempt at a piece was made of, sealed when its last block arrived. */
export type PieceAttempt = readonly BlockRecord[];

interface BlockRecord {
  begin: number;
  length: number;
  who: PeerIdentity;
}

interface FailedBlock extends BlockRecord {
  digest: Uint8Array;
}

/** Reads `length` bytes at `begin` of a piece (from memory, or from storage). */
export type PieceReader = (begin: number, length: number) => Uint8Array | Promise<Uint8Array>;

export class PieceBlame {
  private readonly current = new Map<number, Map<number, BlockRecord>>();
  private readonly failed = new Map<number, FailedBlock[]>();

  /** Records a block accepted for a piece under way. */
  record(index: number, begin: number, length: number, who: PeerIdentity): void {
    let blocks = this.current.get(index);
    if (blocks === undefined) this.current.set(index, (blocks = new Map()));
    blocks.set(begin, { begin, length, who });
  }

  /** The piece's last block arrived: its records so far are one attempt, judged by its hash check. */
  seal(index: number): PieceAttempt {
    const blocks = [...(this.current.get(index)?.values() ?? [])];
    this.current.delete(index);
    return blocks;
  }

  /**
   * The attempt failed: returns the distinct senders of its blocks, and keeps a digest of each block (read
   * from the failed bytes) to compare with the good piece later.
   */
  async pieceFailed(index: number, attempt: PieceAttempt, read: PieceReader): Promise<PeerIdentity[]> {
    const blocks: FailedBlock[] = [];
    for (const b of attempt) blocks.push({ ...b, digest: sha1(await read(b.begin, b.length)) });
    const earlier = this.failed.get(index) ?? [];
    this.failed.delete(index);
    this.failed.set(index, [...earlier, ...blocks].slice(-1024));
    while (this.failed.size > MAX_FAILED_PIECES_TRACKED) {
      const oldest = this.failed.keys().next();
      if (oldest.done === true) break;
      this.failed.delete(oldest.value);
    }
    const seen = new Map<string, PeerIdentity>();
    for (const b of blocks) seen.set(`${b.who.host}|${b.who.port ?? ''}|${b.who.peerId ?? ''}`, b.who);
    return [...seen.values()];
  }

  /** Whether records of an earlier failure of this piece wait for comparison. */
  hasFailed(index: number): boolean {
    return this.failed.has(index);
  }

  /**
   * The piece verified. Given a reader for its good bytes, returns the senders proven to have sent a
   * different block in an earlier failed attempt.
   */
  async pieceVerified(index: number, read: PieceReader): Promise<PeerIdentity[]> {
    this.current.delete(index);
    const records = this.failed.get(index);
    this.failed.delete(index);
    if (records === undefined) return [];
    const culprits = new Map<string, PeerIdentity>();
    for (const r of records) {
      const good = await read(r.begin, r.length);
      if (!bytesEqual(sha1(good), r.digest)) culprits.set(`${r.who.host}|${r.who.port ?? ''}|${r.who.peerId ?? ''}`, r.who);
    }
    return [...culprits.values()];
  }
}

function sha1(data: Uint8Array): Uint8Array {
  return createHash('sha1').update(data).digest();
}
