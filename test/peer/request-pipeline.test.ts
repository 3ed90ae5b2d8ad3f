import { describe, expect, it } from 'vitest';
import { MAX_PIPELINE_DEPTH, MIN_PIPELINE_DEPTH, RequestPipeline } from '../../src/peer/request-pipeline.js';

describe('RequestPipeline', () => {
  it('sizes depth as rate x queue time / block, clamped', () => {
    const p = new RequestPipeline();
    expect(p.depth(0)).toBe(MIN_PIPELINE_DEPTH);
    expect(p.depth(16384)).toBe(MIN_PIPELINE_DEPTH); // 3 blocks wanted
    expect(p.depth(1024 * 1024)).toBe(192); // 1 MiB/s x 3 s / 16 KiB
    expect(p.depth(100 * 1024 * 1024)).toBe(MAX_PIPELINE_DEPTH);
    expect(p.depth(1024 * 1024, true)).toBe(1);
    expect(p.depth(1024 * 1024, false, 50)).toBe(50);
    expect(new RequestPipeline({ minDepth: 2, maxDepth: 8 }).depth(1e9)).toBe(8);
  });

  it('tracks, dedupes, expires in send order and clears', () => {
    const p = new RequestPipeline({ requestTimeoutMs: 100 });
    expect(p.add({ index: 0, begin: 0, length: 10 }, 0)).toBe(true);
    expect(p.add({ index: 0, begin: 0, length: 10 }, 5)).toBe(false);
    p.add({ index: 0, begin: 10, length: 10 }, 50);
    expect(p.nextDeadline()).toBe(100);
    expect(p.expire(99)).toEqual([]);
    expect(p.expire(100).map((o) => o.begin)).toEqual([0]);
    expect(p.remove(0, 10)?.length).toBe(10);
    expect(p.remove(0, 10)).toBeUndefined();
    p.add({ index: 1, begin: 0, length: 10 }, 200);
    expect(p.clear().length).toBe(1);
    expect(p.size).toBe(0);
  });
});
