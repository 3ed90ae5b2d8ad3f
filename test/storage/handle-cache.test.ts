import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHandleCache } from '../../src/storage/handle-cache.js';
import { tempDir } from '../support/torrent-fixture.js';

describe('FileHandleCache', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('keeps at most maxOpen idle handles and never closes one in use', async () => {
    const cache = new FileHandleCache(2);
    const paths = [0, 1, 2, 3, 4].map((i) => join(dir, 'd', `f${i}`));
    // Five files written concurrently: all in use at once, so the bound is exceeded only while they run.
    await Promise.all(paths.map((p, i) => cache.use(p, 'write', (fh) => fh.write(new Uint8Array([i]), 0, 1, 0))));
    expect(cache.size).toBeLessThanOrEqual(2);
    for (const [i, p] of paths.entries()) expect([...(await readFile(p))]).toEqual([i]);
    // A read handle is upgraded for a write, and data survives.
    await cache.use(paths[0] as string, 'read', async (fh) => fh.read(new Uint8Array(1), 0, 1, 0));
    await cache.use(paths[0] as string, 'write', (fh) => fh.write(new Uint8Array([9]), 0, 1, 1));
    expect([...(await readFile(paths[0] as string))]).toEqual([0, 9]);
    await cache.closeAll();
    expect(cache.size).toBe(0);
  });

  it('does not cache a failed open', async () => {
    const cache = new FileHandleCache(4);
    const p = join(dir, 'missing');
    await expect(cache.use(p, 'read', async () => 1)).rejects.toThrow(/ENOENT/);
    expect(cache.size).toBe(0);
    await cache.use(p, 'write', async () => undefined);
    expect(await cache.use(p, 'read', async () => 2)).toBe(2);
    await cache.closeAll();
  });
});
