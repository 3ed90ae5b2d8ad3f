/**
 * The shared life of long-running commands (run, bootstrap): a stats event/line every --stats-interval,
 * optional Prometheus metrics, and a clean stop on SIGINT/SIGTERM with a last `stopped` event.
 */
import { startMetricsServer } from '../net/metrics-server.js';
import { keepProcessAlive, type Clock } from '../util/clock.js';
import type { HostPort } from './args.js';
import type { Output } from './output.js';
import { onShutdown } from './shutdown.js';

export interface LongRunningOptions {
  out: Output;
  clock: Clock;
  /** Milliseconds between stats lines; undefined for none. */
  statsIntervalMs: number | undefined;
  metrics: HostPort | undefined;
  metricsPrefix: string;
  /** A snapshot for the `stats` event and the metrics endpoint. */
  snapshot: () => Record<string, unknown>;
  /** The human stats line for a snapshot. */
  line: (snapshot: Record<string, unknown>) => string;
  /** Called once on SIGINT/SIGTERM, before the last event; flush state and close sockets here. */
  stop: () => Promise<void>;
}

/** Resolves when the command has stopped. */
export async function runUntilSignal(o: LongRunningOptions): Promise<void> {
  const metrics = o.metrics ? await startMetricsServer(o.metrics.host, o.metrics.port, o.metricsPrefix, o.snapshot) : undefined;
  if (metrics) o.out.event('metrics', { host: metrics.address.address, port: metrics.address.port }, `metrics on http://${o.metrics?.host}:${metrics.address.port}/metrics`);
  const release = keepProcessAlive();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const s = o.snapshot();
      o.out.event('stats', s, o.line(s));
      timer = o.clock.setTimeout(tick, o.statsIntervalMs as number);
    };
    let timer = o.statsIntervalMs === undefined ? undefined : o.clock.setTimeout(tick, o.statsIntervalMs);
    onShutdown(async () => {
      if (timer) o.clock.clearTimeout(timer);
      try {
        await o.stop();
      } finally {
        const s = o.snapshot();
        o.out.event('stopped', s, `stopped: ${o.line(s)}`);
        await metrics?.close();
        release();
        resolve();
      }
    });
  });
}
