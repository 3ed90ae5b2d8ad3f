/**
 * Serves counters over HTTP in the Prometheus text format (`--metrics host:port`), for long-lived modes.
 * Nested numeric objects become metric names joined by `_`; a map of reasons becomes one metric with a
 * `key` label. Only GET /metrics is served.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MetricsSource = () => Record<string, unknown>;

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Renders a snapshot in the Prometheus text exposition format. */
export function renderMetrics(prefix: string, snapshot: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (path: string, value: unknown): void => {
    if (typeof value === 'number' && Number.isFinite(value)) {
      lines.push(`${path} ${value}`);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const entries = Object.entries(value as Record<string, unknown>);
    const allNumbers = entries.length > 0 && entries.every(([, v]) => typeof v === 'number');
    if (allNumbers && isReasonMap(path)) {
      for (const [k, v] of entries) lines.push(`${path}{key="${k.replace(/["\\\n]/g, '_')}"} ${v as number}`);
      return;
    }
    for (const [k, v] of entries) walk(`${path}_${sanitize(k)}`, v);
  };
  for (const [k, v] of Object.entries(snapshot)) walk(`${prefix}_${sanitize(k)}`, v);
  return lines.join('\n') + '\n';
}

/** Maps keyed by open-ended reasons or methods are rendered with a label rather than as new names. */
function isReasonMap(path: string): boolean {
  return /(dropped|rejected|queriesReceived)$/.test(path);
}

export interface MetricsServer {
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startMetricsServer(host: string, port: number, prefix: string, source: MetricsSource): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    let body: string;
    try {
      body = renderMetrics(prefix, source());
    } catch {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
