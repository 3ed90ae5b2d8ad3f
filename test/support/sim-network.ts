/** Builds a network of our DHT nodes on a MemoryNetwork and a FakeClock, for simulations. */
import { DhtNode } from '../../src/dht/node.js';
import type { LookupSummary } from '../../src/dht/lookup.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from './fake-clock.js';
import { MemoryNetwork, type MemoryNetworkOptions } from './memory-network.js';

export interface SimNode {
  host: string;
  node: DhtNode;
}

export class SimNetwork {
  readonly clock = new FakeClock();
  readonly random: SeededRandom;
  readonly net: MemoryNetwork;
  readonly nodes: SimNode[] = [];

  constructor(seed: number, options: MemoryNetworkOptions = {}) {
    this.random = new SeededRandom(seed);
    this.net = new MemoryNetwork(this.clock, this.random.fork(), options);
  }

  /** Adds a node at 10.<i>; its bootstrap list is the first node's address. */
  addNode(): SimNode {
    const i = this.nodes.length + 1;
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const transport = this.net.bind(host, 6881);
    const first = this.nodes[0];
    const node = new DhtNode(
      { clock: this.clock, random: this.random.fork(), transport },
      { allowLocal: true, bootstrap: first ? [{ host: first.host, port: 6881 }] : [] },
    );
    const sim = { host, node };
    this.nodes.push(sim);
    return sim;
  }

  /** Advances virtual time until `promise` settles (or `maxMs` of virtual time pass). */
  async run<T>(promise: Promise<T>, maxMs = 120_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    const end = this.clock.now() + maxMs;
    while (!settled && this.clock.now() < end) await this.clock.advanceAsync(20, 20);
    if (!settled) throw new Error(`simulation did not settle within ${maxMs} ms of virtual time`);
    return promise;
  }

  /** Bootstraps every node, `batch` at a time. */
  async bootstrapAll(batch = 25): Promise<LookupSummary[]> {
    const out: LookupSummary[] = [];
    for (let i = 1; i < this.nodes.length; i += batch) {
      const group = this.nodes.slice(i, i + batch).map((n) => n.node.bootstrap());
      out.push(...(await this.run(Promise.all(group))));
    }
    return out;
  }

  /** get_peers from `from` for `infoHash`; resolves with the peers found and the summary. */
  async findPeers(from: SimNode, infoHash: Uint8Array): Promise<{ peers: string[]; summary: LookupSummary }> {
    const peers: string[] = [];
    let summary: LookupSummary | undefined;
    const done = (async () => {
      for await (const e of from.node.lookup(infoHash, { getPeers: true })) {
        if (e.type === 'peer') peers.push(`${e.peer.host}:${e.peer.port}`);
        if (e.type === 'done') summary = e.summary;
      }
    })();
    await this.run(done);
    return { peers, summary: summary as LookupSummary };
  }

  close(): void {
    for (const n of this.nodes) n.node.close();
  }
}
