/**
 * `lookup`: find peers for an infohash through the DHT, and optionally announce ourselves. A short-lived
 * client: it marks its queries read-only (BEP 43) and starts its get_peers search straight from the
 * bootstrap nodes (or saved contacts) instead of joining first, which halves the time to the first peer.
 */
import type { PeerAddress } from '../codec/compact.js';
import type { LookupSummary } from '../dht/lookup.js';
import type { Logger } from '../util/log.js';
import { startDht, type StartDhtOptions } from './dht.js';

export interface LookupAppOptions extends StartDhtOptions {
  infoHash: Uint8Array;
  timeoutMs: number;
  /** Announce after the lookup; `announcePort` undefined means implied_port. */
  announce: boolean;
  announcePort: number | undefined;
  signal?: AbortSignal;
}

export type LookupAppEvent =
  | { type: 'ready'; dhtPort: number; nodeId: Uint8Array }
  | { type: 'peer'; peer: PeerAddress }
  | { type: 'announced'; ok: number; failed: number };

export interface LookupAppResult {
  /** Distinct peers found over every address family. */
  peers: number;
  /** Nodes that answered, over every family. */
  responses: number;
  /** 'complete' when any family's lookup completed, else why it ended. */
  outcome: LookupSummary['outcome'];
  /** Every query our nodes sent (lookup and announce). */
  queriesSent: number;
}

/** One lookup per address family (BEP 32), run side by side; peers are reported once each. */
export async function runLookupApp(options: LookupAppOptions, onEvent: (e: LookupAppEvent) => void, log: Logger): Promise<LookupAppResult> {
  const dht = await startDht({ ...options, readOnly: true }, log);
  try {
    onEvent({ type: 'ready', dhtPort: dht.transport.local.port, nodeId: dht.node.id });
    const request = { getPeers: true, timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) };
    const seen = new Set<string>();
    const summaries = await Promise.all(
      dht.nodes.map(async (node) => {
        let summary: LookupSummary | undefined;
        for await (const e of node.lookup(options.infoHash, request)) {
          if (e.type === 'peer') {
            const key = `${e.peer.host}/${e.peer.port}`;
            if (!seen.has(key)) {
              seen.add(key);
              onEvent({ type: 'peer', peer: e.peer });
            }
          }
          if (e.type === 'done') summary = e.summary;
        }
        return { node, summary: summary as LookupSummary };
      }),
    );
    if (options.announce) {
      let ok = 0;
      let failed = 0;
      for (const { node, summary } of summaries) {
        if (summary.closest.length === 0) continue;
        const r = await node.announce(options.infoHash, summary.closest, options.announcePort, options.signal);
        ok += r.ok;
        failed += r.failed;
      }
      onEvent({ type: 'announced', ok, failed });
    }
    const outcomes = summaries.map((s) => s.summary.outcome);
    return {
      peers: seen.size,
      responses: summaries.reduce((n, s) => n + s.summary.responses, 0),
      outcome: outcomes.includes('complete') ? 'complete' : (outcomes[0] ?? 'complete'),
      queriesSent: dht.nodes.reduce((n, node) => n + node.rpc.stats.queriesSent, 0),
    };
  } finally {
    await dht.close();
  }
}
