/** The one-line summary and the JSON `stats` event of long-lived DHT modes (run, bootstrap). */
import type { DhtNodeStats } from '../dht/node.js';
import type { Clock } from '../util/clock.js';

function sum(record: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(record)) n += v;
  return n;
}

/** Turns successive stats snapshots into rates per second. */
export class StatsReporter {
  private last: { at: number; queriesIn: number; queriesOut: number } | undefined;

  constructor(private readonly clock: Clock) {}

  event(stats: DhtNodeStats): Record<string, unknown> {
    const now = this.clock.now();
    const queriesIn = stats.rpc.queriesReceived;
    const queriesOut = stats.rpc.queriesSent;
    const secs = this.last ? Math.max(0.001, (now - this.last.at) / 1000) : 0;
    const inPerSec = this.last ? (queriesIn - this.last.queriesIn) / secs : 0;
    const outPerSec = this.last ? (queriesOut - this.last.queriesOut) / secs : 0;
    this.last = { at: now, queriesIn, queriesOut };
    return {
      nodes: stats.nodes,
      goodNodes: stats.goodNodes,
      depth: stats.depth,
      infohashes: stats.storedInfoHashes,
      peers: stats.storedPeers,
      queriesInPerSec: Math.round(inPerSec),
      queriesOutPerSec: Math.round(outPerSec),
      queriesIn,
      queriesOut,
      timeouts: stats.rpc.timeouts,
      rateLimited: stats.rpc.rateLimited,
      dropped: { ...stats.rpc.dropped, ...prefixKeys('table_', stats.table.rejected) },
      droppedTotal: sum(stats.rpc.dropped) + sum(stats.table.rejected),
    };
  }

  line(e: Record<string, unknown>): string {
    const dropped = Object.entries(e.dropped as Record<string, number>)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return (
      `nodes ${e.nodes} (good ${e.goodNodes}, depth ${e.depth}) | stored ${e.infohashes} infohashes, ${e.peers} peers | ` +
      `queries in ${e.queriesInPerSec}/s out ${e.queriesOutPerSec}/s | timeouts ${e.timeouts} rate-limited ${e.rateLimited} | ` +
      `dropped ${e.droppedTotal}${dropped ? ` (${dropped})` : ''}`
    );
  }
}

function prefixKeys(prefix: string, r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) out[prefix + k] = v;
  return out;
}
