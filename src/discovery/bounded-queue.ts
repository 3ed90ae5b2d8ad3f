/**
 * A bounded first-in first-out queue between producers and one async consumer. Producers that cannot wait
 * (callbacks) `offer` and lose the item when the queue is full; producers that can (async loops) `put` and
 * wait for room. Either way memory is bounded by `capacity`.
 */

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wakeConsumer: (() => void) | undefined;
  private readonly waitingProducers: (() => void)[] = [];
  /** Items refused by `offer` because the queue was full. */
  dropped = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  /** Adds an item if there is room; false (and counted) when full or closed. */
  offer(item: T): boolean {
    if (this.closed) return false;
    if (this.items.length >= this.capacity) {
      this.dropped++;
      return false;
    }
    this.items.push(item);
    this.wake();
    return true;
  }

  /** Adds an item, waiting for room. Resolves false when the queue closes or `signal` aborts first. */
  async put(item: T, signal?: AbortSignal): Promise<boolean> {
    while (!this.closed && this.items.length >= this.capacity) {
      if (signal?.aborted) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waitingProducers.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    return this.offer(item);
  }

  /** No more items will come; the consumer drains what is left, then ends. Producers are released. */
  close(): void {
    this.closed = true;
    this.wake();
    for (const release of this.waitingProducers.splice(0)) release();
  }

  /** The next item, or undefined once closed and empty (or when `signal` aborts). */
  async take(signal?: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (this.items.length > 0) {
        const item = this.items.shift() as T;
        this.waitingProducers.shift()?.();
        return item;
      }
      if (this.closed || signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          this.wakeConsumer = undefined;
          resolve();
        };
        this.wakeConsumer = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private wake(): void {
    this.wakeConsumer?.();
  }
}
