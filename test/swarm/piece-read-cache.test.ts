import { describe, expect, it } from 'vitest';
import { createTorrentFromMemory } from '../../src/app/create.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { PieceReadCache } from '../../src/swarm/piece-read-cache.js';
import { SeededRandom } from '../../src/util/random.js';

const P = 32 * 1024;

async function setup(maxBytes?: number) {
  const data = new SeededRandom(4).bytes(4 * P);
  const info = createTorrentFromMemory({}, { name: 'c.bin', data }, { pieceLength: P, creationDate: null }).metainfo;
  const storage = new MemoryStorage({}, { layout: info });
  for (let i = 0; i < 4; i++) expect(await storage.commitPiece(i, data.slice(i * P, (i + 1) * P))).toBe(true);
  let reads = 0;
  const counting = Object.assign(Object.create(storage) as MemoryStorage, {
    readBlock: (piece: number, begin: number, length: number, into?: Uint8Array) => {
      reads++;
      return storage.readBlock(piece, begin, length, into);
    },
  });
  const cache = new PieceReadCache(counting, () => P, maxBytes);
  return { data, cache, reads: () => reads };
}

describe('PieceReadCache', () => {
  it('reads a piece once and serves its blocks from memory', async () => {
    const { data, cache, reads } = await setup();
    for (let b = 0; b < 2; b++) {
      const block = await cache.readBlock(1, b * 16384, 16384);
      expect(Buffer.from(block).equals(Buffer.from(data.subarray(P + b * 16384, P + (b + 1) * 16384)))).toBe(true);
    }
    expect(reads()).toBe(1);
    expect(cache.stats).toEqual({ hits: 1, misses: 1, reused: 0 });
  });

  it('gives a block synchronously once its piece has been read, and forgets it with the piece', async () => {
    const { data, cache, reads } = await setup(2 * P);
    expect(cache.blockNow(1, 0, 16384)).toBeUndefined();
    const first = cache.readBlock(1, 0, 16384);
    expect(cache.blockNow(1, 0, 16384)).toBeUndefined(); // read under way
    await first;
    expect(Buffer.from(cache.blockNow(1, 16384, 16384) as Uint8Array).equals(Buffer.from(data.subarray(P + 16384, 2 * P)))).toBe(true);
    await cache.readBlock(2, 0, 10);
    await cache.readBlock(3, 0, 10); // evicts piece 1
    expect(cache.blockNow(1, 0, 16384)).toBeUndefined();
    expect(reads()).toBe(3);
  });

  it('keeps within its byte budget, dropping the least recently used piece', async () => {
    const { cache, reads } = await setup(2 * P);
    await cache.readBlock(0, 0, 10);
    await cache.readBlock(1, 0, 10);
    await cache.readBlock(0, 0, 10); // 0 is now the most recent
    await cache.readBlock(2, 0, 10); // evicts 1
    await cache.readBlock(0, 0, 10);
    expect(reads()).toBe(3);
    await cache.readBlock(1, 0, 10);
    expect(reads()).toBe(4);
  });

  it('reuses an evicted piece\'s buffer only once every block handed out from it is released', async () => {
    const { data, cache } = await setup(P); // room for one piece: each read evicts the one before
    const expectBytes = (block: Uint8Array, at: number): void =>
      expect(Buffer.from(block).equals(Buffer.from(data.subarray(at, at + block.length)))).toBe(true);
    const held = await cache.readBlock(0, 0, 16384); // leased, not released: as if still queued in a socket
    cache.release(await cache.readBlock(1, 0, 16384)); // evicts 0, still leased
    cache.release(await cache.readBlock(2, 0, 16384)); // a new buffer (no spare yet); evicts 1, whose buffer is free
    expect(cache.stats.reused).toBe(0);
    expectBytes(held, 0); // piece 0's buffer was not handed to piece 2
    cache.release(await cache.readBlock(3, 0, 16384)); // read into piece 1's old buffer
    expect(cache.stats.reused).toBe(1);
    expectBytes(held, 0);
    cache.release(held); // piece 0's buffer is free now
    const again = await cache.readBlock(0, 16384, 16384);
    expect(cache.stats.reused).toBe(2);
    expectBytes(again, 16384);
  });

  it('a reader waiting for a read keeps the buffer even if the piece is evicted before the read ends', async () => {
    const { data, cache } = await setup(P);
    const waiting = cache.readBlock(0, 100, 50);
    const other = cache.readBlock(1, 0, 10); // evicts piece 0 while its read is under way
    const block = await waiting;
    cache.release(await other);
    await cache.readBlock(2, 0, 10).then((b) => cache.release(b)); // a spare is taken, but not piece 0's buffer
    await cache.readBlock(3, 0, 10).then((b) => cache.release(b));
    expect(Buffer.from(block).equals(Buffer.from(data.subarray(100, 150)))).toBe(true);
  });
});
