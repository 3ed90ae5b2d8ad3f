/**
 * A sans-I/O framer for the peer wire: bytes go in as they arrive from the stream, whole frame bodies come
 * out. Chunks are kept in a list, never concatenated as they arrive: a frame that lies inside one chunk is
 * returned as a view of it (the usual case for a `piece` on a fast link), and only a frame that straddles
 * chunks is copied, once, into a buffer of exactly its size. So total work is linear in the bytes received.
 *
 * Chunks are borrowed: a socket may hand over a view of one read buffer that it fills again on the next
 * read (src/net/tcp.ts does, because a fresh buffer per read cost a leecher about half a CPU-second per
 * GiB). So a frame returned here is valid only until the caller's stream callback returns, and before
 * returning the caller calls keepUnread(), which copies the bytes not yet returned (at most one partial
 * frame) out of the borrowed chunks.
 *
 * The length prefix is checked against a caller-given maximum as soon as its 4 bytes are readable, before a
 * single byte of the body is buffered: an oversized prefix is a violation (docs/wire.md).
 */
import { readU32 } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';
import { MAX_BLOCK_LENGTH, MAX_EXTENDED_PAYLOAD } from './messages.js';

/**
 * Pieces we allow for a bitfield before metadata is known: a 16 MiB info dictionary (BEP 9 cap,
 * MAX_METADATA_SIZE) holds at most ~840k 20-byte piece hashes, so 2^20 pieces is a safe bound.
 */
export const MAX_PIECES_BEFORE_METADATA = 1 << 20;

/**
 * The largest frame body (the value of the length prefix, i.e. without its 4 bytes) to accept: the max of
 * a `piece` frame (1 id + 8 header + block), a `bitfield` frame (1 + ceil(pieces/8)) and an `extended`
 * frame (1 + 1 + payload). Without a piece count (magnet, before metadata) a conservative cap is used.
 */
export function maxFrameLength(pieceCount?: number, maxBlockLength: number = MAX_BLOCK_LENGTH): number {
  const piece = 9 + maxBlockLength;
  const extended = 2 + MAX_EXTENDED_PAYLOAD;
  const bitfield = 1 + Math.ceil((pieceCount ?? MAX_PIECES_BEFORE_METADATA) / 8);
  return Math.max(piece, extended, bitfield);
}

const PREFIX = 4;

export class Framer {
  private chunks: Uint8Array[] = [];
  /** Offset of the first unread byte in chunks[0]. */
  private head = 0;
  private total = 0;
  /** chunks[0] is our own copy (from keepUnread), not a borrowed view. */
  private firstOwned = false;
  private maxFrame: number;

  /** `maxFrame` bounds the length prefix (see maxFrameLength). */
  constructor(maxFrame: number = maxFrameLength()) {
    this.maxFrame = maxFrame;
  }

  /** Changes the frame cap (e.g. once metadata gives the piece count). */
  setMaxFrameLength(maxFrame: number): void {
    this.maxFrame = maxFrame;
  }

  get maxFrameLength(): number {
    return this.maxFrame;
  }

  /** Bytes held and not yet returned. At most one frame cap plus one chunk. */
  get buffered(): number {
    return this.total;
  }

  /** Adds received bytes without parsing them (the chunk is borrowed until keepUnread(), not copied). */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * Copies the bytes not yet returned out of borrowed chunks into one buffer of our own, so the stream may
   * reuse its read buffer. Frames returned earlier are not copied: the caller is done with them.
   */
  keepUnread(): void {
    if (this.total === 0 || (this.firstOwned && this.chunks.length === 1)) return;
    const own = new Uint8Array(this.total);
    let filled = 0;
    for (const c of this.chunks) {
      const part = filled === 0 ? c.subarray(this.head) : c;
      own.set(part, filled);
      filled += part.length;
    }
    this.chunks = [own];
    this.head = 0;
    this.firstOwned = true;
  }

  /** Byte `i` positions past the read point, or undefined when not yet received. */
  peekByte(i: number): number | undefined {
    if (i >= this.total) return undefined;
    let k = this.head + i;
    for (const c of this.chunks) {
      if (k < c.length) return c[k];
      k -= c.length;
    }
    return undefined;
  }

  /** Exactly `n` bytes from the read point (a view when they lie in one chunk), or undefined if fewer are held. */
  readExact(n: number): Uint8Array | undefined {
    if (this.total < n) return undefined;
    const first = this.chunks[0];
    if (n === 0) return new Uint8Array(0);
    if (first !== undefined && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Uint8Array;
      const take = Math.min(n - filled, c.length - this.head);
      out.set(c.subarray(this.head, this.head + take), filled);
      filled += take;
      this.consume(take);
    }
    return out;
  }

  private consume(n: number): void {
    this.total -= n;
    this.head += n;
    while (this.chunks.length > 0 && this.head >= (this.chunks[0] as Uint8Array).length) {
      this.head -= (this.chunks[0] as Uint8Array).length;
      this.chunks.shift();
      this.firstOwned = false;
    }
  }

  /**
   * The next complete frame body (empty for a keep-alive), or undefined when more bytes are needed.
   * Throws DecodeError `wire_frame_too_large` as soon as a length prefix over the cap is readable.
   */
  nextFrame(): Uint8Array | undefined {
    if (this.total < PREFIX) return undefined;
    const first = this.chunks[0] as Uint8Array;
    const h = this.head;
    // The prefix nearly always lies in the first chunk; peekByte walks the chunks when it does not.
    const length =
      first.length - h >= PREFIX
        ? readU32(first, h)
        : (((this.peekByte(0) as number) << 24) >>> 0) +
          ((this.peekByte(1) as number) << 16) +
          ((this.peekByte(2) as number) << 8) +
          (this.peekByte(3) as number);
    if (length > this.maxFrame) {
      throw new DecodeError('wire_frame_too_large', `frame of ${length} bytes, limit ${this.maxFrame}`);
    }
    if (this.total < PREFIX + length) return undefined;
    this.consume(PREFIX);
    return this.readExact(length);
  }

  /** append(chunk), then every complete frame now available, then keepUnread(). */
  push(chunk: Uint8Array): Uint8Array[] {
    this.append(chunk);
    const out: Uint8Array[] = [];
    for (;;) {
      const f = this.nextFrame();
      if (f === undefined) break;
      out.push(f);
    }
    this.keepUnread();
    return out;
  }
}
