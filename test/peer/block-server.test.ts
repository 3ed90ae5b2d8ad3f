import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlockServer, SEND_BUFFER_BYTES } from '../../src/peer/block-server.js';
import type { BlockRef } from '../../src/wire/messages.js';
import { flushMicrotasks } from '../support/fake-clock.js';

const B = 16384;

/** A stream that records each write call's chunk count; `hold` keeps callbacks back (a peer not reading). */
function recordingStream(hold = false) {
  const batches: number[] = [];
  const pending: (() => void)[] = [];
  const done = (cb: () => void): void => {
    if (hold) pending.push(cb);
    else cb();
  };
  const stream = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      batches.push(1);
      done(cb);
    },
    writev(chunks, cb) {
      batches.push(chunks.length);
      done(cb);
    },
  });
  return { stream, batches, release: () => pending.splice(0).forEach((cb) => cb()) };
}

const ref = (i: number): BlockRef => ({ index: 0, begin: i * B, length: B });

describe('BlockServer', () => {
  it('writes blocks that are at hand together, in one writev of header and data per block', async () => {
    const { stream, batches } = recordingStream();
    let sent = 0;
    const server = new BlockServer({ stream, readBlock: () => new Uint8Array(B), onSent: () => sent++, onError: () => {} }, { capacity: 10 });
    server.setChoking(false);
    // Queued while the pump is busy with the first: served in the same run.
    for (let i = 0; i < 4; i++) server.onRequest(ref(i));
    await flushMicrotasks();
    expect(sent).toBe(4);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(8);
    expect(batches.length).toBeLessThan(4);
  });

  it('flushes what it has before waiting for a slow read, and keeps the order', async () => {
    const { stream, batches } = recordingStream();
    const order: number[] = [];
    let finishSlow: (b: Uint8Array) => void = () => {};
    const readBlock = (r: BlockRef): Uint8Array | Promise<Uint8Array> =>
      r.begin === B ? new Promise<Uint8Array>((resolve) => (finishSlow = resolve)) : new Uint8Array(B);
    const server = new BlockServer({ stream, readBlock, onSent: () => order.push(order.length), onError: () => {} }, { capacity: 10 });
    server.onRequest(ref(0)); // refused: choking
    server.setChoking(false);
    for (let i = 0; i < 3; i++) server.onRequest(ref(i));
    await flushMicrotasks();
    expect(order).toEqual([0]); // block 0 out, block 1 awaited
    expect(batches.reduce((a, b) => a + b, 0)).toBe(2);
    finishSlow(new Uint8Array(B));
    await flushMicrotasks();
    expect(order).toEqual([0, 1, 2]);
    expect(server.counters.requestsWhileChoked).toBe(1);
  });

  it('stops queueing into a stream that does not drain, and goes on after the drain', async () => {
    const { stream, release } = recordingStream(true);
    let sent = 0;
    const server = new BlockServer({ stream, readBlock: () => new Uint8Array(B), onSent: () => sent++, onError: () => {} }, { capacity: 100 });
    stream.on('drain', () => void server.pump());
    server.setChoking(false);
    for (let i = 0; i < 40; i++) server.onRequest(ref(i));
    await flushMicrotasks();
    const limit = Math.ceil(SEND_BUFFER_BYTES / (B + 13));
    expect(sent).toBe(limit);
    expect(stream.writableLength).toBeLessThanOrEqual(SEND_BUFFER_BYTES + B + 13);
    for (let round = 0; round < 10 && sent < 40; round++) {
      release();
      await flushMicrotasks();
    }
    expect(sent).toBe(40);
  });
});

describe('BlockServer releases', () => {
  it('releases a block once the stream has taken it, and a block dropped while it was read', async () => {
    const { stream, release: flushStream } = recordingStream(true);
    const released: Uint8Array[] = [];
    let finishSlow: (b: Uint8Array) => void = () => {};
    const blocks = [new Uint8Array(B).fill(1), new Uint8Array(B).fill(2), new Uint8Array(B).fill(3)];
    const readBlock = (r: BlockRef): Uint8Array | Promise<Uint8Array> =>
      r.begin === 2 * B ? new Promise<Uint8Array>((resolve) => (finishSlow = resolve)) : (blocks[r.begin / B] as Uint8Array);
    const server = new BlockServer({ stream, readBlock, releaseBlock: (d) => released.push(d), onSent: () => {}, onError: () => {} }, { capacity: 10 });
    server.setChoking(false);
    for (let i = 0; i < 3; i++) server.onRequest(ref(i));
    await flushMicrotasks();
    // Blocks 0 and 1 are written, but the stream has not taken them yet: they are not released.
    expect(released).toEqual([]);
    flushStream();
    await flushMicrotasks();
    expect(released).toEqual([blocks[0], blocks[1]]);
    // Block 2 is cancelled while it is read: it is released without being written.
    server.onCancel(ref(2));
    finishSlow(blocks[2] as Uint8Array);
    await flushMicrotasks();
    expect(released).toEqual([blocks[0], blocks[1], blocks[2]]);
  });
});
