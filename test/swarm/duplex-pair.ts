/**
 * Two connected in-memory Duplex streams: bytes written to one are read from the other, delivered on a
 * later tick as a socket would (synchronous delivery would re-enter the writer mid-call, which no real
 * transport does).
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  other: End | undefined;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const other = this.other;
    process.nextTick(() => {
      if (other !== undefined && !other.destroyed) other.push(chunk);
    });
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    const other = this.other;
    process.nextTick(() => other?.push(null));
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

export function duplexPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.other = b;
  b.other = a;
  return [a, b];
}
