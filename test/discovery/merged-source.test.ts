import { describe, expect, it } from 'vitest';
import type { PeerAddress } from '../../src/codec/compact.js';
import { MergedPeerSource, type DiscoveredPeer } from '../../src/discovery/merged-source.js';
import { StaticPeerSource, type PeerSource } from '../../src/discovery/peer-source.js';
import type { LookupEvent } from '../../src/dht/lookup.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

const INFO_HASH = new Uint8Array(20).fill(7);
const p = (n: number, host = '10.0.0.1'): PeerAddress => ({ host, port: 1000 + n });
const deps = () => ({ clock: new FakeClock(), log: silentLogger });

/** The same source under another name. */
const named = (name: string, s: PeerSource): PeerSource => ({ name, peers: (ih, signal) => s.peers(ih, signal) });

/** Collects everything a source yields, in the background. */
function collect(source: PeerSource, signal = new AbortController().signal) {
  const got: DiscoveredPeer[] = [];
  const done = (async () => {
    for await (const peer of source.peers(INFO_HASH, signal)) got.push(peer as DiscoveredPeer);
  })();
  return { got, done };
}

/** A source that yields whatever the test pushes, until aborted; records that it was closed. */
class PushSource implements PeerSource {
  private waiting: (() => void) | undefined;
  private readonly pending: PeerAddress[] = [];
  closed = false;
  constructor(readonly name: string) {}
  push(...peers: PeerAddress[]): void {
    this.pending.push(...peers);
    this.waiting?.();
  }
  async *peers(_ih: Uint8Array, signal: AbortSignal): AsyncIterable<PeerAddress> {
    try {
      while (!signal.aborted) {
        const next = this.pending.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.waiting = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    } finally {
      this.closed = true;
    }
  }
}

describe('MergedPeerSource', () => {
  it('merges sources, removes duplicates by host:port and names the first finder', async () => {
    const merged = new MergedPeerSource(deps(), {
      sources: [new StaticPeerSource([p(1), p(2), p(1)]), named('other', new StaticPeerSource([p(2), p(3), p(3, '::1'), p(3, '10.0.0.2')]))],
      burst: 100,
    });
    const { got, done } = collect(merged);
    await done;
    expect(got.map((x) => `${x.host}:${x.port}`).sort()).toEqual(['10.0.0.1:1001', '10.0.0.1:1002', '10.0.0.1:1003', '10.0.0.2:1003', '::1:1003'].sort());
    const stats = merged.stats();
    expect(stats).toMatchObject({ received: 7, delivered: 5, duplicates: 2 });
    expect((stats.bySource['static'] ?? 0) + (stats.bySource['other'] ?? 0)).toBe(5);
    expect(got.find((x) => x.host === '::1')?.source).toBe('other');
  });

  it('forgets the oldest peers beyond maxSeen, so memory stays bounded', async () => {
    const merged = new MergedPeerSource(deps(), { sources: [new StaticPeerSource([p(1), p(2), p(3), p(1), p(3)])], maxSeen: 2, burst: 100 });
    const { got, done } = collect(merged);
    await done;
    // p(1) was evicted when p(3) came, so it is new again; p(3) is still remembered.
    expect(got.map((x) => x.port)).toEqual([1001, 1002, 1003, 1001]);
  });

  it('drops peers the accept filter refuses', async () => {
    const merged = new MergedPeerSource(deps(), { sources: [new StaticPeerSource([p(1, '127.0.0.1'), p(2)])], accept: (x) => !x.host.startsWith('127.'), burst: 100 });
    const { got, done } = collect(merged);
    await done;
    expect(got.map((x) => x.host)).toEqual(['10.0.0.1']);
    expect(merged.stats().rejected).toBe(1);
  });

  it('paces delivery: a burst, then one peer per paceMs on the clock', async () => {
    const d = deps();
    const merged = new MergedPeerSource(d, { sources: [new StaticPeerSource(Array.from({ length: 6 }, (_, i) => p(i)))], burst: 2, paceMs: 100 });
    const { got, done } = collect(merged);
    await flushMicrotasks();
    expect(got).toHaveLength(2);
    d.clock.advance(99);
    await flushMicrotasks();
    expect(got).toHaveLength(2);
    d.clock.advance(1);
    await flushMicrotasks();
    expect(got).toHaveLength(3);
    await d.clock.advanceAsync(300, 100);
    await done;
    expect(got).toHaveLength(6);
  });

  it('keeps going when one source throws, and ends when all have ended', async () => {
    const broken: PeerSource = {
      name: 'broken',
      async *peers() {
        throw new Error('socket gone');
      },
    };
    const merged = new MergedPeerSource(deps(), { sources: [broken, new StaticPeerSource([p(1)])] });
    const { got, done } = collect(merged);
    await done;
    expect(got.map((x) => x.port)).toEqual([1001]);
    expect(merged.stats().sourceErrors).toBe(1);
  });

  it('stops its sources when the consumer aborts or breaks off', async () => {
    const live = new PushSource('live');
    const c = new AbortController();
    const merged = new MergedPeerSource(deps(), { sources: [live] });
    const { got, done } = collect(merged, c.signal);
    live.push(p(1), p(2));
    await flushMicrotasks();
    expect(got).toHaveLength(2);
    c.abort();
    await done;
    expect(live.closed).toBe(true);

    const live2 = new PushSource('live2');
    live2.push(p(1), p(2), p(3));
    for await (const peer of new MergedPeerSource(deps(), { sources: [live2] }).peers(INFO_HASH, new AbortController().signal)) {
      expect(peer.port).toBe(1001);
      break;
    }
    expect(live2.closed).toBe(true);
  });

  it('takes a DHT get_peers lookup as a source through the PeerSource shape', async () => {
    // What the lead's DHT source will do: run DhtNode.lookup(infoHash, {getPeers: true}) and keep its peers.
    async function* fakeLookup(): AsyncGenerator<LookupEvent> {
      yield { type: 'query', node: { host: '10.9.9.9', port: 6881 } };
      yield { type: 'peer', peer: p(7) };
      yield { type: 'peer', peer: p(8) };
    }
    const dht: PeerSource = {
      name: 'dht',
      async *peers() {
        for await (const e of fakeLookup()) if (e.type === 'peer') yield e.peer;
      },
    };
    const merged = new MergedPeerSource(deps(), { sources: [dht, new StaticPeerSource([p(7)])] });
    const { got, done } = collect(merged);
    await done;
    expect(got.map((x) => x.port).sort()).toEqual([1007, 1008]);
  });
});
