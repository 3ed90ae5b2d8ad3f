/**
 * The storage side of downloading. Blocks of a piece are assembled in memory and hashed as they come in
 * order (PieceAssembly), and the complete piece is checked and written in one go (PieceStorage.commitPiece):
 * per block there is a copy into the piece's buffer and a hash update, no write. Pieces larger than
 * MAX_BUFFERED_PIECE (rare: 8 MiB and up) are written block by block and verified from storage instead, to
 * bound memory. The outcome goes back to the
 * session with whoever should be blamed (PieceBlame). A storage failure (disk full, read-only) is
 * reported once as fatal. Work for different pieces runs concurrently; work for one piece never reorders.
 */
import type { PieceStorage } from '../storage/piece-storage.js';
import type { PeerIdentity } from './ban-list.js';
import { PieceAssembly } from './piece-assembly.js';
import { PieceBlame, type PieceAttempt } from './piece-blame.js';

/**
 * Largest piece assembled in memory. Pieces in progress are a few per peer, so with the usual 256 KiB to
 * 4 MiB pieces this costs tens of MiB at most; larger pieces go block by block to storage.
 */
export const MAX_BUFFERED_PIECE = 4 * 1024 * 1024;

/**
 * Memory for finished piece buffers kept for reuse. A fresh 256 KiB buffer per piece costs a zero-fill and
 * a page fault per 4 KiB (large allocations come straight from mmap), a measurable share of a fast download.
 * Pieces under assembly (a deep pipeline spans about 16 of 256 KiB) plus those waiting for their write all
 * hold a buffer, so enough spares to cover them are kept: 64 of 256 KiB, 4 of 4 MiB.
 */
export const SPARE_PIECE_BYTES = 16 * 1024 * 1024;

export interface PieceWriterHooks {
  /** The piece hashed correctly (storage now has it). */
  verified(index: number): void;
  /** The piece failed its hash; `senders` are the distinct peers whose blocks it was made of. */
  failed(index: number, senders: PeerIdentity[]): void;
  /** Peers proven (by comparing with the verified piece) to have sent a bad block earlier. */
  proven(culprits: PeerIdentity[]): void;
  /** A storage error: downloading cannot go on. */
  fatal(err: Error): void;
}

export class PieceWriter {
  private readonly storage: PieceStorage;
  private readonly hooks: PieceWriterHooks;
  private readonly blame = new PieceBlame();
  /** The tail of each piece's chain of storage work. */
  private readonly chains = new Map<number, Promise<void>>();
  /** Pieces being assembled (and hashed) in memory. */
  private readonly assemblies = new Map<number, PieceAssembly>();
  /** Committed piece buffers of the usual piece size, free for the next piece (see SPARE_PIECE_BYTES). */
  private readonly spare: Uint8Array[] = [];
  private readonly pieceSize: (index: number) => number;
  private stopped = false;
  private broken = false;

  private readonly maxBuffered: number;

  constructor(deps: { storage: PieceStorage; pieceSize: (index: number) => number }, hooks: PieceWriterHooks, options: { maxBufferedPiece?: number } = {}) {
    this.storage = deps.storage;
    this.pieceSize = deps.pieceSize;
    this.maxBuffered = options.maxBufferedPiece ?? MAX_BUFFERED_PIECE;
    this.hooks = hooks;
  }

  /** Whether a storage failure has stopped writing. */
  get failed(): boolean {
    return this.broken;
  }

  /**
   * Takes a block (a view the caller may reuse once this returns); with `completesPiece`, the piece is
   * verified and stored after it.
   */
  accept(index: number, begin: number, data: Uint8Array, from: PeerIdentity, completesPiece: boolean): void {
    // `from` is kept by reference: a peer's identity is complete once its handshake is in, before any block.
    this.blame.record(index, begin, data.length, from);
    const size = this.pieceSize(index);
    if (size <= this.maxBuffered) {
      let piece = this.assemblies.get(index);
      if (piece === undefined) this.assemblies.set(index, (piece = new PieceAssembly(this.takeBuffer(size))));
      piece.add(begin, data);
      if (completesPiece) {
        this.assemblies.delete(index);
        const attempt = this.blame.seal(index);
        const whole = piece.buffer;
        const digest = piece.digest();
        this.chain(index, () => this.commit(index, whole, digest, attempt));
      }
      return;
    }
    const copy = data.slice();
    this.chain(index, () => this.storage.writeBlock(index, begin, copy));
    if (completesPiece) {
      const attempt = this.blame.seal(index);
      this.chain(index, () => this.verify(index, attempt));
    }
  }

  /** A piece assembled in memory: checked against its digest, written once (commitPiece), senders judged from these bytes. */
  private async commit(index: number, piece: Uint8Array, digest: Uint8Array | undefined, attempt: PieceAttempt): Promise<void> {
    if (this.stopped) return;
    const ok = await this.storage.commitPiece(index, piece, digest);
    if (this.stopped) return;
    const read = (begin: number, length: number): Uint8Array => piece.subarray(begin, begin + length);
    await this.judge(index, attempt, ok, read);
    // Storage and the blame digests are done with these bytes: the buffer may carry the next piece.
    this.releaseBuffer(piece);
  }

  /**
   * A buffer for a piece of `size` bytes: a spare one when the size is the usual one. Every byte of it is
   * overwritten before the piece completes (a piece completes only once all its blocks are in), so a reused
   * buffer needs no clearing.
   */
  private takeBuffer(size: number): Uint8Array {
    if (size === this.pieceSize(0)) {
      const spare = this.spare.pop();
      if (spare !== undefined) return spare;
    }
    return new Uint8Array(size);
  }

  private releaseBuffer(piece: Uint8Array): void {
    if ((this.spare.length + 1) * piece.length <= SPARE_PIECE_BYTES && piece.length === this.pieceSize(0)) this.spare.push(piece);
  }

  /** Waits until every queued write and verification has finished. */
  async drain(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  /** Stops reporting outcomes and waits for work under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.chains.values()]);
  }

  private chain(index: number, fn: () => Promise<void>): void {
    const prev = this.chains.get(index) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.fail(err));
    this.chains.set(index, next);
    void next.finally(() => {
      if (this.chains.get(index) === next) this.chains.delete(index);
    });
  }

  /** A piece written block by block: verify it as stored. */
  private async verify(index: number, attempt: PieceAttempt): Promise<void> {
    if (this.stopped) return;
    const ok = await this.storage.verifyPiece(index);
    if (this.stopped) return;
    await this.judge(index, attempt, ok, (b, l) => this.storage.readBlock(index, b, l));
  }

  /** Reports the outcome, with the senders to blame for a failure or proven bad once the piece verifies. */
  private async judge(index: number, attempt: PieceAttempt, ok: boolean, read: (begin: number, length: number) => Uint8Array | Promise<Uint8Array>): Promise<void> {
    if (!ok) {
      const senders = await this.blame.pieceFailed(index, attempt, read);
      if (!this.stopped) this.hooks.failed(index, senders);
      return;
    }
    this.hooks.verified(index);
    if (this.blame.hasFailed(index)) {
      const culprits = await this.blame.pieceVerified(index, read);
      if (culprits.length > 0 && !this.stopped) this.hooks.proven(culprits);
    }
  }

  private fail(err: unknown): void {
    if (this.broken || this.stopped) return;
    this.broken = true;
    this.hooks.fatal(err instanceof Error ? err : new Error(String(err)));
  }
}
