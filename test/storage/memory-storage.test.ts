import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { StorageError } from '../../src/storage/piece-storage.js';
import { bytesEqual } from '../../src/util/bytes.js';
import { makeTorrent } from '../support/torrent-fixture.js';

describe('MemoryStorage', () => {
  const fx = makeTorrent({ name: 'm', pieceLength: 16384, files: [{ path: ['a'], length: 20000 }, { path: ['b'], length: 30000 }] });

  it('verifies pieces written in blocks, with the odd last piece', async () => {
    const s = new MemoryStorage({}, { layout: fx.metainfo });
    const m = fx.metainfo;
    for (let p = 0; p < m.pieceCount; p++) {
      const start = p * m.pieceLength;
      const end = Math.min(start + m.pieceLength, m.totalLength);
      await s.writeBlock(p, 0, fx.content.subarray(start, end));
      expect(await s.verifyPiece(p)).toBe(true);
    }
    expect(s.completedCount()).toBe(m.pieceCount);
    expect(bytesEqual(await s.readBlock(3, 0, 50000 - 3 * 16384), fx.content.subarray(3 * 16384))).toBe(true);
  });

  it('fails a wrong piece and checks preloaded content', async () => {
    const s = new MemoryStorage({}, { layout: fx.metainfo });
    await s.writeBlock(0, 0, new Uint8Array(16384));
    expect(await s.verifyPiece(0)).toBe(false);
    expect(s.stats().piecesFailed).toBe(1);
    const seeded = new MemoryStorage({}, { layout: fx.metainfo, content: fx.content });
    expect([...(await seeded.checkExisting())]).toEqual([0, 1, 2, 3]);
    expect(() => new MemoryStorage({}, { layout: fx.metainfo, content: new Uint8Array(3) })).toThrow(StorageError);
    await expect(s.readBlock(2, 0, 1)).rejects.toThrow(expect.objectContaining({ code: 'storage_missing' }));
  });

  it('commits a whole piece against a digest the caller computed, and refuses one that does not match', async () => {
    const s = new MemoryStorage({}, { layout: fx.metainfo });
    const piece = fx.content.subarray(0, 16384);
    expect(await s.commitPiece(0, piece, new Uint8Array(20))).toBe(false);
    expect(s.have(0)).toBe(false);
    expect(await s.commitPiece(1, fx.content.subarray(16384, 32768), createHash('sha1').update(fx.content.subarray(16384, 32768)).digest())).toBe(true);
    expect(await s.commitPiece(0, piece)).toBe(true); // no digest: storage hashes itself
    expect(s.completedCount()).toBe(2);
  });
});
