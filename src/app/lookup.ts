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
  summary: LookupSummary;
  /** Every query our node sent (lookup and announce). */
  queriesSent: number;
}

export async function runLookupApp(options: LookupAppOptions, onEvent: (e: LookupAppEvent) => void, log: Logger): Promise<LookupAppResult> {
  const dht = await startDht({ ...options, readOnly: true }, log);
  try {
    onEvent({ type: 'ready', dhtPort: dht.transport.local.port, nodeId: dht.node.id });
    let summary: LookupSummary | undefined;
    const request = { getPeers: true, timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) };
    for await (const e of dht.node.lookup(options.infoHash, request)) {
      if (e.type === 'peer') onEvent({ type: 'peer', peer: e.peer });
      if (e.type === 'done') summary = e.summary;
    }
    const done = summary as LookupSummary;
    if (options.announce && done.closest.length > 0) {
      const result = await dht.node.announce(options.infoHash, done.closest, options.announcePort, options.signal);
      onEvent({ type: 'announced', ...result });
    }
    return { summary: done, queriesSent: dht.node.rpc.stats.queriesSent };
  } finally {
    await dht.close();
  }
}
