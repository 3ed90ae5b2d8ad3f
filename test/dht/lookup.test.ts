/**
 * The iterative lookup against declarative topologies on a fake clock: each node's answers are written
 * down as data (which nodes it returns, whether it is dead or slow, which peers it knows).
 */
import { describe, expect, it } from 'vitest';
import { runLookup, type LookupEvent, type LookupReply, type LookupSeed } from '../../src/dht/lookup.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

interface TopoNode {
  /** Names of the nodes it returns. */
  knows: string[];
  dead?: boolean;
  /** Answer delay (ms); default 20. */
  delay?: number;
  peers?: string[];
}

/** Ids are chosen so that distance to the target (all zeros) follows the number in the name: n1 closest. */
function idOf(name: string): Uint8Array {
  const n = Number(name.slice(1));
  const id = new Uint8Array(20);
  id[0] = n;
  id[19] = 1;
  return id;
}

function topology(nodes: Record<string, TopoNode>, clock: FakeClock) {
  const queried: string[] = [];
  const byAddress = (n: LookupSeed): string => `n${n.port}`;
  const query = (seed: LookupSeed, signal: AbortSignal): Promise<LookupReply> => {
    const name = byAddress(seed);
    queried.push(name);
    const spec = nodes[name];
    return new Promise((resolve, reject) => {
      if (!spec || spec.dead) {
        clock.setTimeout(() => reject(new Error('timeout')), 4000);
        return;
      }
      const h = clock.setTimeout(() => {
        resolve({
          id: idOf(name),
          nodes: spec.knows.map((k) => ({ id: idOf(k), host: '10.0.0.1', port: Number(k.slice(1)) })),
          values: spec.peers?.map((p) => ({ host: p, port: 1 })),
          token: new Uint8Array([Number(name.slice(1))]),
        });
      }, spec.delay ?? 20);
      signal.addEventListener('abort', () => clock.clearTimeout(h));
    });
  };
  const seed = (name: string): LookupSeed => ({ id: idOf(name), host: '10.0.0.1', port: Number(name.slice(1)) });
  return { query, queried, seed };
}

async function drive<T>(clock: FakeClock, p: Promise<T>): Promise<T> {
  let done = false;
  void p.finally(() => (done = true));
  for (let i = 0; i < 10_000 && !done; i++) await clock.advanceAsync(10, 10);
  return p;
}

const target = new Uint8Array(20);

describe('iterative lookup', () => {
  it('converges on the closest nodes and collects their tokens and peers', async () => {
    const clock = new FakeClock();
    const nodes: Record<string, TopoNode> = {
      n90: { knows: ['n50', 'n60', 'n70'] },
      n50: { knows: ['n20', 'n30', 'n40'] },
      n60: { knows: ['n30'] },
      n70: { knows: ['n40'] },
      n40: { knows: ['n10'] },
      n30: { knows: ['n10', 'n5'] },
      n20: { knows: ['n5'] },
      n10: { knows: ['n1', 'n2'], peers: ['9.9.9.9'] },
      n5: { knows: ['n1'] },
      n2: { knows: [] },
      n1: { knows: [], peers: ['9.9.9.9', '8.8.8.8'] },
    };
    const topo = topology(nodes, clock);
    const events: LookupEvent[] = [];
    const summary = await drive(clock, runLookup({ clock, query: topo.query }, { target, seeds: [topo.seed('n90')], alpha: 3, k: 4 }, (e) => events.push(e)));
    expect(summary.outcome).toBe('complete');
    expect(summary.closest.map((c) => c.port)).toEqual([1, 2, 5, 10]);
    expect(summary.closest.every((c) => c.token !== undefined)).toBe(true);
    const peers = events.filter((e) => e.type === 'peer').map((e) => (e as { peer: { host: string } }).peer.host);
    expect(peers.sort()).toEqual(['8.8.8.8', '9.9.9.9']);
    // Farther nodes it never needed (n60/n70 lead nowhere new) may be skipped; nothing is queried twice.
    expect(new Set(topo.queried).size).toBe(topo.queried.length);
  });

  it('keeps at most alpha queries in flight', async () => {
    const clock = new FakeClock();
    const fanout = Array.from({ length: 20 }, (_, i) => `n${i + 10}`);
    const nodes: Record<string, TopoNode> = { n99: { knows: fanout } };
    for (const f of fanout) nodes[f] = { knows: [], delay: 100 };
    const topo = topology(nodes, clock);
    let inFlight = 0;
    let maxInFlight = 0;
    const query = (s: LookupSeed, sig: AbortSignal) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return topo.query(s, sig).finally(() => inFlight--);
    };
    await drive(clock, runLookup({ clock, query }, { target, seeds: [topo.seed('n99')], alpha: 3, k: 8, slowMs: 10_000 }));
    expect(maxInFlight).toBe(3);
  });

  it('does not wait for dead nodes once K live nodes answered', async () => {
    const clock = new FakeClock();
    const nodes: Record<string, TopoNode> = {
      n99: { knows: ['n1', 'n2', 'n3', 'n10', 'n11', 'n12', 'n13'] },
      n1: { knows: [], dead: true },
      n2: { knows: [], dead: true },
      n3: { knows: [], dead: true },
      n10: { knows: [] },
      n11: { knows: [] },
      n12: { knows: [] },
      n13: { knows: [] },
    };
    const topo = topology(nodes, clock);
    const start = clock.now();
    const summary = await drive(clock, runLookup({ clock, query: topo.query }, { target, seeds: [topo.seed('n99')], alpha: 3, k: 4, slowMs: 500 }));
    expect(summary.closest.map((c) => c.port)).toEqual([10, 11, 12, 13]);
    // Dead nodes time out after 4 s; the lookup ends long before.
    expect(clock.now() - start).toBeLessThan(2000);
    expect(summary.unanswered).toBe(3);
  });

  it('gives up on dead nodes after a few round trips, not the full ceiling, once it has seen answers', async () => {
    const clock = new FakeClock();
    const nodes: Record<string, TopoNode> = {
      n99: { knows: ['n50', 'n51', 'n52'], delay: 20 },
      n50: { knows: ['n1', 'n2', 'n10', 'n11', 'n12', 'n13'], delay: 20 },
      n51: { knows: [], delay: 20 },
      n52: { knows: [], delay: 20 },
      n1: { knows: [], dead: true },
      n2: { knows: [], dead: true },
      n10: { knows: [], delay: 20 },
      n11: { knows: [], delay: 20 },
      n12: { knows: [], delay: 20 },
      n13: { knows: [], delay: 20 },
    };
    const topo = topology(nodes, clock);
    const start = clock.now();
    const summary = await drive(clock, runLookup({ clock, query: topo.query }, { target, seeds: [topo.seed('n99')], alpha: 3, k: 4 }));
    expect(summary.closest.map((c) => c.port)).toEqual([10, 11, 12, 13]);
    // Answers came in ~20 ms, so dead nodes are written off after the 250 ms floor, not after 500 ms.
    expect(clock.now() - start).toBeLessThan(400);
    expect(summary.unanswered).toBe(2);
  });

  it('waits for a slow node when it is all there is', async () => {
    const clock = new FakeClock();
    const topo = topology({ n9: { knows: ['n1'], delay: 1500 }, n1: { knows: [] } }, clock);
    const summary = await drive(clock, runLookup({ clock, query: topo.query }, { target, seeds: [{ host: '10.0.0.1', port: 9 }], slowMs: 500 }));
    expect(summary.closest.map((c) => c.port)).toEqual([1, 9]);
  });

  it('ends at the deadline and on abort', async () => {
    const clock = new FakeClock();
    const topo = topology({ n9: { knows: [], dead: true } }, clock);
    const timedOut = await drive(clock, runLookup({ clock, query: topo.query }, { target, seeds: [topo.seed('n9')], timeoutMs: 1000 }));
    expect(timedOut.outcome).toBe('timeout');
    const ac = new AbortController();
    const p = runLookup({ clock, query: topo.query }, { target, seeds: [topo.seed('n9')], signal: ac.signal });
    ac.abort();
    expect((await drive(clock, p)).outcome).toBe('aborted');
  });

  it('stops at maxQueries however many nodes a hostile network offers', async () => {
    const clock = new FakeClock();
    const random = new SeededRandom(4);
    let counter = 0;
    const query = async (): Promise<LookupReply> => ({
      id: random.bytes(20),
      nodes: Array.from({ length: 8 }, () => ({ id: random.bytes(20), host: '10.0.0.1', port: 1 + (counter++ % 60000) })),
    });
    const summary = await drive(clock, runLookup({ clock, query }, { target, seeds: [{ host: '10.0.0.1', port: 65000 }], maxQueries: 50 }));
    expect(summary.queries).toBeLessThanOrEqual(50);
  });
});
