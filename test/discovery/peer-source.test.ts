import { describe, expect, expectTypeOf, it } from 'vitest';
import { encode } from '../../src/codec/bencode.js';
import type { PeerAddress } from '../../src/codec/compact.js';
import type { DhtPeerSource } from '../../src/discovery/dht-source.js';
import { MergedPeerSource } from '../../src/discovery/merged-source.js';
import { asPeerSource, pipePeers, StaticPeerSource, TrackerPeerSource, type CallbackPeerSource, type PeerSource } from '../../src/discovery/peer-source.js';
import type { HttpGet } from '../../src/tracker/http-get.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

const INFO_HASH = new Uint8Array(20).fill(3);
const p = (n: number): PeerAddress => ({ host: '10.0.0.1', port: 1000 + n });

/** A callback source the test drives by hand. */
class ManualSource implements CallbackPeerSource {
  onPeer: ((peer: PeerAddress) => void) | undefined;
  starts = 0;
  stops = 0;
  start(onPeer: (peer: PeerAddress) => void): void {
    this.starts++;
    this.onPeer = onPeer;
  }
  stop(): void {
    this.stops++;
  }
}

/** A tracker behind an injected HttpGet that hands out two peers and records the events it saw. */
function trackerHttp(): { httpGet: HttpGet; events: string[] } {
  const events: string[] = [];
  const httpGet: HttpGet = async (url) => {
    events.push(/[?&]event=(\w+)/.exec(url)?.[1] ?? 'none');
    return { status: 200, location: undefined, body: encode({ interval: 1800, peers: Uint8Array.from([10, 0, 0, 9, 0x1a, 0xe1, 10, 0, 0, 8, 0x1a, 0xe1]) }) };
  };
  return { httpGet, events };
}

describe('peer sources', () => {
  it('the DHT source of src/discovery/dht-source.ts has the callback shape', () => {
    expectTypeOf<DhtPeerSource>().toMatchTypeOf<CallbackPeerSource>();
    expectTypeOf<TrackerPeerSource>().toMatchTypeOf<CallbackPeerSource>();
  });

  it('asPeerSource starts on iteration, yields pushed peers, drops past its bound, stops on abort', async () => {
    const manual = new ManualSource();
    const source = asPeerSource('manual', manual, 2);
    const c = new AbortController();
    const got: PeerAddress[] = [];
    const done = (async () => {
      for await (const peer of source.peers(INFO_HASH, c.signal)) got.push(peer);
    })();
    await flushMicrotasks();
    expect(manual.starts).toBe(1);
    manual.onPeer?.(p(1));
    manual.onPeer?.(p(2));
    manual.onPeer?.(p(3)); // the queue holds 2: this one is dropped
    await flushMicrotasks();
    expect(got).toEqual([p(1), p(2)]);
    expect(source.dropped()).toBe(1);
    c.abort();
    await done;
    expect(manual.stops).toBe(1);
  });

  it('pipePeers feeds a sink until the source ends and survives a throwing source', async () => {
    const sunk: PeerAddress[] = [];
    expect(await pipePeers(new StaticPeerSource([p(1), p(2)]), INFO_HASH, (x) => sunk.push(x), new AbortController().signal)).toBe(2);
    expect(sunk).toEqual([p(1), p(2)]);
    const broken: PeerSource = {
      name: 'broken',
      async *peers() {
        throw new Error('boom');
      },
    };
    const warned: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warned.push(m) };
    expect(await pipePeers(broken, INFO_HASH, () => undefined, new AbortController().signal, log)).toBe(0);
    expect(warned).toEqual(['peer source failed']);
  });

  it('TrackerPeerSource announces started, reports peers, forwards completed, and stops with stopped', async () => {
    const clock = new FakeClock();
    const { httpGet, events } = trackerHttp();
    const totals = { uploaded: 0, downloaded: 0, left: 100 };
    const tracker = new TrackerPeerSource(
      { clock, random: new SeededRandom(4), log: silentLogger, httpGet },
      { infoHash: INFO_HASH, peerId: new Uint8Array(20), port: 6881, trackers: ['http://t.test/announce'], totals: () => totals },
    );
    expect(tracker.stats()).toBeUndefined();
    const peers: PeerAddress[] = [];
    tracker.start((x) => peers.push(x));
    await flushMicrotasks();
    expect(peers).toEqual([
      { host: '10.0.0.9', port: 6881 },
      { host: '10.0.0.8', port: 6881 },
    ]);
    totals.left = 0;
    tracker.completed();
    await flushMicrotasks();
    await tracker.stop();
    expect(events).toEqual(['started', 'completed', 'stopped']);
    expect(tracker.stats()?.successes).toBe(3);
  });

  it('trackers and a static list merge into one deduplicated stream for the session', async () => {
    const clock = new FakeClock();
    const { httpGet, events } = trackerHttp();
    const tracker = new TrackerPeerSource(
      { clock, random: new SeededRandom(5), log: silentLogger, httpGet },
      { infoHash: INFO_HASH, peerId: new Uint8Array(20), port: 6881, trackers: ['http://t.test/announce'], totals: () => ({ uploaded: 0, downloaded: 0, left: 1 }) },
    );
    const merged = new MergedPeerSource({ clock, log: silentLogger }, { sources: [asPeerSource('tracker', tracker), new StaticPeerSource([{ host: '10.0.0.9', port: 6881 }, p(1)])] });
    const c = new AbortController();
    const added: string[] = [];
    const piping = pipePeers(merged, INFO_HASH, (x) => added.push(`${x.host}:${x.port}`), c.signal);
    await flushMicrotasks();
    expect(added.sort()).toEqual(['10.0.0.1:1001', '10.0.0.8:6881', '10.0.0.9:6881']);
    c.abort();
    expect(await piping).toBe(3);
    expect(events).toEqual(['started', 'stopped']);
  });
});
