/**
 * The upload side of one connection: the peer's accepted requests, served one block at a time through the
 * caller's `readBlock` (the connection never touches files), and only while the stream is not backed up,
 * so what we buffer for a peer is bounded by the stream's high-water mark plus one block. Each block goes
 * out as a 13-byte header and the block itself, corked together, never copied into a new buffer.
 */
import type { Duplex } from 'node:stream';
import type { BlockRef } from '../wire/messages.js';
import { encodePieceHeader } from '../wire/messages.js';
import { IncomingRequests } from './incoming-requests.js';

export interface BlockServerDeps {
  readonly stream: Duplex;
  /** Data for a block; undefined when it cannot be served after all. */
  readonly readBlock?: ((ref: BlockRef) => Promise<Uint8Array | undefined>) | undefined;
  /** Whether a request names a block we have and announced. */
  readonly validateRequest?: ((ref: BlockRef) => boolean) | undefined;
  /** After each block written, with its length (for rates and the keep-alive clock). */
  readonly onSent: (bytes: number) => void;
  /** readBlock threw: the connection decides what to do (it closes). */
  readonly onError: (err: unknown) => void;
}

export interface BlockServerCounters {
  requestsRefused: number;
  requestsDroppedFull: number;
  requestsWhileChoked: number;
}

export class BlockServer {
  readonly counters: BlockServerCounters = { requestsRefused: 0, requestsDroppedFull: 0, requestsWhileChoked: 0 };
  private readonly queue: IncomingRequests;
  private choking = true;
  private stopped = false;
  private serving = false;
  private current: BlockRef | undefined;
  private currentCancelled = false;

  constructor(private readonly deps: BlockServerDeps, options: { capacity: number }) {
    this.queue = new IncomingRequests(options.capacity);
  }

  get queued(): number {
    return this.queue.size;
  }

  /** Choking discards every queued request and the one being read (BEP 3, no fast extension). */
  setChoking(choking: boolean): void {
    this.choking = choking;
    if (choking) {
      this.queue.clear();
      this.currentCancelled = true;
    } else void this.pump();
  }

  /** A request from the peer; true when it was queued. */
  onRequest(ref: BlockRef): boolean {
    if (this.choking) {
      // The peer may not have seen our choke yet: dropped, not a violation.
      this.counters.requestsWhileChoked++;
      return false;
    }
    if (this.deps.readBlock === undefined || this.deps.validateRequest?.(ref) === false) {
      this.counters.requestsRefused++;
      return false;
    }
    const r = this.queue.add(ref);
    if (r === 'full') this.counters.requestsDroppedFull++;
    if (r !== 'added') return false;
    void this.pump();
    return true;
  }

  /** A cancel from the peer: drops the request if queued, or the block being read. */
  onCancel(ref: BlockRef): void {
    this.queue.remove(ref);
    const c = this.current;
    if (c !== undefined && c.index === ref.index && c.begin === ref.begin && c.length === ref.length) this.currentCancelled = true;
  }

  /** Stops serving for good (the connection closed). */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
    this.currentCancelled = true;
  }

  /** Serves queued requests one at a time while unchoked and while the stream is not backed up. */
  async pump(): Promise<void> {
    const read = this.deps.readBlock;
    if (this.serving || read === undefined) return;
    this.serving = true;
    const stream = this.deps.stream;
    try {
      while (!this.stopped && !this.choking && !stream.writableNeedDrain) {
        const ref = this.queue.shift();
        if (ref === undefined) break;
        this.current = ref;
        this.currentCancelled = false;
        const data = await read(ref);
        if (this.stopped || this.currentCancelled || this.choking) continue;
        if (data === undefined || data.length !== ref.length) {
          this.counters.requestsRefused++;
          continue;
        }
        stream.cork();
        stream.write(encodePieceHeader(ref.index, ref.begin, data.length));
        stream.write(data);
        stream.uncork();
        this.deps.onSent(data.length);
      }
    } catch (err) {
      this.deps.onError(err);
    } finally {
      this.serving = false;
      this.current = undefined;
    }
  }
}
