/**
 * Two connected in-memory Duplex ends, like the two sides of a TCP connection: bytes written to one are
 * read from the other, ending one ends the other's readable side, destroying one ends and closes the other.
 * Backpressure is end to end: a write's callback waits until the other side's reader has room, so a writer
 * that ignores `write() === false` really does pile up in its own writable buffer.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  other: End | undefined;
  private pendingCallback: (() => void) | undefined;

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const other = this.other;
    if (other === undefined || other.destroyed) {
      cb();
      return;
    }
    if (other.push(chunk)) cb();
    else other.pendingCallback = () => cb();
  }

  override _read(): void {
    const cb = this.pendingCallback;
    this.pendingCallback = undefined;
    cb?.();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.other !== undefined && !this.other.destroyed) this.other.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const other = this.other;
    this.other = undefined;
    if (other !== undefined && !other.destroyed) {
      other.push(null);
      other.destroy();
    }
    cb(err);
  }
}

/** Two connected ends. `highWaterMark` applies to both directions (bytes). */
export function streamPair(highWaterMark = 64 * 1024): [Duplex, Duplex] {
  const a = new End({ highWaterMark });
  const b = new End({ highWaterMark });
  a.other = b;
  b.other = a;
  return [a, b];
}

/** Lets stream callbacks (nextTick and setImmediate queues) run, several rounds. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Makes `stream` hand its 'data' listeners borrowed chunks, as a dialled TCP socket does (src/net/tcp.ts):
 * each chunk is a view that is overwritten with 0xee as soon as the listeners return, so a listener that
 * keeps a view instead of copying it sees garbage.
 */
export function lendChunks(stream: Duplex): void {
  const emit = stream.emit.bind(stream);
  stream.emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'data') return emit(event, ...args);
    const view = Uint8Array.from(args[0] as Uint8Array);
    try {
      return emit('data', view);
    } finally {
      view.fill(0xee);
    }
  };
}
