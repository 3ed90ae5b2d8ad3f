/**
 * The storage side of downloading: accepted blocks are written in order per piece, a completed piece is
 * verified only after all its writes have landed, and the outcome goes back to the session together with
 * whoever should be blamed (PieceBlame). A storage failure (disk full, read-only) is reported once as
 * fatal. Work for different pieces runs concurrently; work for one piece never reorders.
 */
import type { PieceStorage } from '../storage/piece-storage.js';
import type { PeerIdentity } from './ban-list.js';
import { PieceBlame, type PieceAttempt } from './piece-blame.js';

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
  private stopped = false;
  private broken = false;

  constructor(deps: { storage: PieceStorage }, hooks: PieceWriterHooks) {
    this.storage = deps.storage;
    this.hooks = hooks;
  }

  /** Whether a storage failure has stopped writing. */
  get failed(): boolean {
    return this.broken;
  }

  /** Queues a block (a private copy) for writing; with `completesPiece`, the piece is verified after it. */
  accept(index: number, begin: number, data: Uint8Array, from: PeerIdentity, completesPiece: boolean): void {
    this.blame.record(index, begin, data, { ...from });
    this.chain(index, () => this.storage.writeBlock(index, begin, data));
    if (completesPiece) {
      const attempt = this.blame.seal(index);
      this.chain(index, () => this.verify(index, attempt));
    }
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

  private async verify(index: number, attempt: PieceAttempt): Promise<void> {
    if (this.stopped) return;
    const ok = await this.storage.verifyPiece(index);
    if (this.stopped) return;
    if (!ok) return this.hooks.failed(index, this.blame.pieceFailed(index, attempt));
    this.hooks.verified(index);
    if (this.blame.hasFailed(index)) {
      const culprits = await this.blame.pieceVerified(index, (b, l) => this.storage.readBlock(index, b, l));
      if (culprits.length > 0 && !this.stopped) this.hooks.proven(culprits);
    }
  }

  private fail(err: unknown): void {
    if (this.broken || this.stopped) return;
    this.broken = true;
    this.hooks.fatal(err instanceof Error ? err : new Error(String(err)));
  }
}
