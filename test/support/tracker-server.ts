/**
 * A real HTTP tracker for loopback tests: webtorrent's `bittorrent-tracker` server (npm, a devDependency),
 * HTTP only (no UDP, no WebSocket, so its WebRTC dependency is never loaded), on 127.0.0.1 and port 0.
 * `refuse` makes it answer chosen infohashes with a `failure reason`, through the server's own filter hook.
 */
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { toHex } from '../../src/util/bytes.js';

/** The slice of bittorrent-tracker's Server that the tests use (the package ships no types). */
interface BtTrackerServer {
  http: HttpServer;
  torrents: Record<string, { complete: number; incomplete: number; peers: { keys: string[] } } | undefined>;
  listen(port: number, hostname: string, onListening: () => void): void;
  close(cb: () => void): void;
  on(event: 'error' | 'warning', fn: (err: Error) => void): void;
}
type BtTrackerServerClass = new (opts: {
  http: boolean;
  udp: boolean;
  ws: boolean;
  stats: boolean;
  interval?: number;
  filter?: (infoHash: string, params: unknown, cb: (err: Error | null) => void) => void;
}) => BtTrackerServer;

export interface TrackerServer {
  /** http://127.0.0.1:<port>/announce */
  announceUrl: string;
  /** Peers (`ip:port`) the tracker holds for an infohash. */
  peers(infoHash: Uint8Array): string[];
  /** Warnings the server raised (bad requests it refused). */
  warnings: string[];
  close(): Promise<void>;
}

export interface TrackerServerOptions {
  /** Announce interval the tracker tells clients, in seconds (default 600). */
  intervalS?: number;
  /** Infohashes refused with this failure reason. */
  refuse?: { infoHashes: Uint8Array[]; reason: string };
}

export async function startTrackerServer(options: TrackerServerOptions = {}): Promise<TrackerServer> {
  // The specifier goes through a variable: the package has no type declarations, and the slice we use is
  // typed by hand above.
  const specifier = 'bittorrent-tracker/server';
  const mod = (await import(specifier)) as { default: BtTrackerServerClass };
  const refused = new Set((options.refuse?.infoHashes ?? []).map(toHex));
  const server = new mod.default({
    http: true,
    udp: false,
    ws: false,
    stats: false,
    interval: (options.intervalS ?? 600) * 1000,
    filter: (infoHash, _params, cb) => cb(refused.has(infoHash) ? new Error(options.refuse?.reason ?? 'refused') : null),
  });
  const warnings: string[] = [];
  server.on('warning', (err) => warnings.push(err.message));
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.http.address() as AddressInfo).port;
  return {
    announceUrl: `http://127.0.0.1:${port}/announce`,
    peers: (infoHash) => server.torrents[toHex(infoHash)]?.peers.keys ?? [],
    warnings,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
