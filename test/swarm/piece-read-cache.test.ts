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
    readBlock: (piece: number, begin: number, length: number) => {
      reads++;
      return storage.readBlock(piece, begin, length);
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
    expect(cache.stats).toEqual({ hits: 1, misses: 1 });
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
});
