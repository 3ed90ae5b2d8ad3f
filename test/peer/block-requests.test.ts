import { describe, expect, it } from 'vitest';
import { BlockRequests } from '../../src/peer/block-requests.js';
import { DecodeError } from '../../src/util/errors.js';

const B = 16384;
const options = { minDepth: 16, snubTimeoutMs: 60_000, requestTimeoutMs: 60_000, maxTimedOutRemembered: 2 };
const ref = (i: number) => ({ index: 0, begin: i * B, length: B });

describe('BlockRequests', () => {
  it('offers room in runs of an eighth of the depth', () => {
    const r = new BlockRequests(options, 0);
    expect(r.free(0)).toBe(16);
    for (let i = 0; i < 15; i++) expect(r.add(ref(i), 0)).toBe(true);
    expect(r.add(ref(0), 0)).toBe(false); // already out
    expect(r.free(0)).toBe(0);
    expect(r.room(0)).toBe(1);
    expect(r.received(0, 0, B, 10)).toBe('requested');
    expect(r.free(10)).toBe(2);
    expect(r.free(10, 14)).toBe(0); // the peer's reqq caps the depth
  });

  it('tells requested, late and unsolicited blocks apart, and refuses a length mismatch', () => {
    const r = new BlockRequests(options, 0);
    r.add(ref(0), 0);
    r.add(ref(1), 0);
    r.add(ref(2), 0);
    expect(() => r.received(0, 0, 100, 1)).toThrow(DecodeError);
    const { expired } = r.tick(60_000, false);
    expect(expired.map((o) => o.begin)).toEqual([B, 2 * B]); // ref(0) was removed by the mismatch
    expect(r.received(0, B, B, 60_001)).toBe('late');
    expect(r.received(0, B, B, 60_002)).toBe('unsolicited');
    expect(r.counters).toEqual({ unsolicitedBlocks: 1, lateBlocks: 1, requestTimeouts: 2 });
    expect(r.bytesReceived).toBe(B);
  });

  it('marks the peer snubbed after the snub timeout without a block, only while unchoked, until a block comes', () => {
    const r = new BlockRequests({ ...options, requestTimeoutMs: 120_000 }, 0);
    r.add(ref(0), 0);
    r.add(ref(1), 0);
    expect(r.tick(59_999, false).snubbedNow).toBe(false);
    expect(r.tick(60_000, true).snubbedNow).toBe(false); // choked: not the peer's fault
    expect(r.tick(60_000, false).snubbedNow).toBe(true);
    expect(r.tick(61_000, false).snubbedNow).toBe(false); // reported once
    expect(r.depth(61_000)).toBe(1);
    r.received(0, 0, B, 62_000);
    expect(r.snubbed).toBe(false);
  });
});
