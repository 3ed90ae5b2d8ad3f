/**
 * Our HTTP tracker client against a real tracker (npm bittorrent-tracker's HTTP server) on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerAddress } from '../../src/codec/compact.js';
import type { AnnounceParams } from '../../src/tracker/announce-request.js';
import { nodeHttpGet } from '../../src/tracker/http-get.js';
import { announce } from '../../src/tracker/http-tracker.js';
import { TrackerError } from '../../src/tracker/tracker-error.js';
import { TrackerSession } from '../../src/tracker/tracker-session.js';
import { sleep, SystemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server.js';

const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => 0x80 + i); // bytes >= 0x80 test the encoding
const deps = { clock: new SystemClock(), httpGet: nodeHttpGet };
const peerId = (fill: number): Uint8Array => new Uint8Array(20).fill(fill);
const params = (id: number, port: number, over: Partial<AnnounceParams> = {}): AnnounceParams => ({
  infoHash: INFO_HASH,
  peerId: peerId(id),
  port,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  event: 'started',
  numwant: 50,
  ...over,
});
const hasPeer = (peers: PeerAddress[], port: number): boolean => peers.some((p) => p.host === '127.0.0.1' && p.port === port);

/** Polls on real time until `cond` holds; fails with a clear message instead of hanging to the test timeout. */
async function waitFor(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = deps.clock.now() + limitMs;
  while (!cond()) {
    if (deps.clock.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(deps.clock, 5);
  }
}

let tracker: TrackerServer | undefined;
afterEach(async () => {
  await tracker?.close();
  tracker = undefined;
});

describe('against bittorrent-tracker over loopback HTTP', () => {
  it('two clients announce and each gets the other as a peer', async () => {
    tracker = await startTrackerServer();
    const a1 = await announce(deps, tracker.announceUrl, params(0xa1, 6001));
    expect(hasPeer(a1.peers, 6002)).toBe(false);
    const b1 = await announce(deps, tracker.announceUrl, params(0xb2, 6002));
    expect(hasPeer(b1.peers, 6001)).toBe(true);
    expect(b1.interval).toBe(600);
    const a2 = await announce(deps, tracker.announceUrl, params(0xa1, 6001, { event: 'none' }));
    expect(hasPeer(a2.peers, 6002)).toBe(true);
    expect(a2.incomplete).toBe(2);
    expect(tracker.peers(INFO_HASH).sort()).toEqual(['127.0.0.1:6001', '127.0.0.1:6002']);
  });

  it('a refused torrent surfaces as tracker_failure with the tracker text', async () => {
    tracker = await startTrackerServer({ refuse: { infoHashes: [INFO_HASH], reason: 'torrent not allowed here' } });
    const err = await announce(deps, tracker.announceUrl, params(0xa1, 6001)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TrackerError);
    expect((err as TrackerError).code).toBe('tracker_failure');
    expect((err as TrackerError).trackerMessage).toBe('torrent not allowed here');
  });

  it('tracker sessions find each other, and stopped removes us from the swarm', async () => {
    tracker = await startTrackerServer();
    const url = tracker.announceUrl;
    const session = (id: number, port: number, onPeers: (p: PeerAddress[]) => void): TrackerSession =>
      new TrackerSession(
        { clock: new SystemClock(), random: new SeededRandom(id), log: silentLogger, httpGet: nodeHttpGet },
        { infoHash: INFO_HASH, peerId: peerId(id), port, trackers: [url], totals: () => ({ uploaded: 0, downloaded: 0, left: 1000 }), onPeers },
      );
    const a = session(0xa1, 7001, () => undefined);
    a.start();
    await waitFor(() => a.stats().successes > 0, "A's started announce");
    const bGot: PeerAddress[] = [];
    const b = session(0xb2, 7002, (peers) => bGot.push(...peers));
    b.start();
    await waitFor(() => b.stats().successes > 0, "B's started announce");
    expect(hasPeer(bGot, 7001)).toBe(true);
    expect(tracker.peers(INFO_HASH).sort()).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);

    await a.stop();
    expect(tracker.peers(INFO_HASH)).toEqual(['127.0.0.1:7002']);
    const again = await announce(deps, url, params(0xb2, 7002, { event: 'none' }));
    expect(hasPeer(again.peers, 7001)).toBe(false);
    await b.stop();
    expect(tracker.peers(INFO_HASH)).toEqual([]);
  });
});
