/**
 * The upload side of one connection: the peer's accepted requests, served in order through the caller's
 * `readBlock` (the connection never touches files), and only while the stream holds less than
 * SEND_BUFFER_BYTES, so what we buffer for a peer stays bounded. Each block goes out as a 13-byte header and
 * the block itself, never copied into a new buffer. Blocks that `readBlock` can give at once (a cached
 * piece, tokens available) are corked together and leave in one writev; a syscall per 16 KiB block was the
 * seeder's largest cost on a fast link.
 */
import type { Duplex } from 'node:stream';
import type { BlockRef } from '../wire/messages.js';
import { encodePieceHeader } from '../wire/messages.js';
import { IncomingRequests } from './incoming-requests.js';

/**
 * Bytes we let queue in the stream before waiting for 'drain': enough for several blocks per writev and to
 * keep a fast loopback or LAN link busy between event-loop turns, small enough not to matter per peer.
 */
export const SEND_BUFFER_BYTES = 256 * 1024;

/** A block's data, now or later; undefined when it cannot be served after all. */
export type BlockData = Uint8Array | undefined;

export interface BlockServerDeps {
  readonly stream: Duplex;
  /** Data for a block: synchronously when it is at hand (no await, so blocks batch), else a promise. */
  readonly readBlock?: ((ref: BlockRef) => BlockData | Promise<BlockData>) | undefined;
  /** Told when the stream has taken a block's bytes, or they were dropped: their buffer may be reused. */
  readonly releaseBlock?: ((data: Uint8Array) => void) | undefined;
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
  private pumpScheduled = false;

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
    } else this.schedulePump();
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
    this.schedulePump();
    return true;
  }

  /**
   * Serving starts after the current turn, so the requests of one received chunk (a peer asks for many
   * blocks at once) are queued first and go out together.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
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

  /**
   * Serves queued requests in order while unchoked and while the stream is not backed up. Blocks read
   * synchronously are written corked; the batch is flushed before any wait, so a slow read never holds back
   * blocks already written.
   */
  async pump(): Promise<void> {
    const read = this.deps.readBlock;
    if (this.serving || read === undefined) return;
    this.serving = true;
    const stream = this.deps.stream;
    let corked = false;
    try {
      // Past the stream's high-water mark a 'drain' is due (needDrain), which restarts us; stop there once
      // SEND_BUFFER_BYTES are queued.
      while (!this.stopped && !this.choking && (!stream.writableNeedDrain || stream.writableLength < SEND_BUFFER_BYTES)) {
        const ref = this.queue.shift();
        if (ref === undefined) break;
        this.current = ref;
        this.currentCancelled = false;
        let data = read(ref);
        if (data instanceof Promise) {
          if (corked) {
            corked = false;
            stream.uncork();
          }
          data = await data;
        }
        const dropped = this.stopped || this.currentCancelled || this.choking;
        if (data === undefined || dropped || data.length !== ref.length) {
          if (!dropped) this.counters.requestsRefused++;
          if (data !== undefined) this.deps.releaseBlock?.(data);
          continue;
        }
        if (!corked) {
          corked = true;
          stream.cork();
        }
        stream.write(encodePieceHeader(ref.index, ref.begin, data.length));
        const release = this.deps.releaseBlock;
        // The callback runs once the stream has handed the bytes on (or failed): only then may they change.
        stream.write(data, release === undefined ? undefined : () => release(data));
        this.deps.onSent(data.length);
      }
    } catch (err) {
      this.deps.onError(err);
    } finally {
      if (corked) stream.uncork();
      this.serving = false;
      this.current = undefined;
    }
  }
}
