/**
 * Building blocks of the interop networks: our `run` nodes, our `lookup` (with or without `--announce`),
 * polling a partner's get_peers until a given peer shows up, and for the wire and magnet tests: our `seed`
 * and `download`, a libtorrent leecher, reproducible data files and byte-for-byte comparison. Addresses
 * are 127.x.y.z, which Linux loopback answers without setup; each test file uses its own 127.0.N.0/24 so files never collide.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { num, retryUntil, str, type JsonEvent, type JsonLineProcess, type ProcessGroup } from '../support/processes.js';

/** A UDP or TCP endpoint. */
export interface Endpoint {
  host: string;
  port: number;
}

/** `--timeout` of one `lookup` run, seconds. */
export const LOOKUP_TIMEOUT_S = 15;
/** How long a lookup process may take beyond its own --timeout before we call it hung. */
const LOOKUP_EXIT_SLACK_MS = 10_000;
/** Budget for finding a peer, covering routing tables that are still filling. */
export const FIND_BUDGET_MS = 60_000;
/** Pause between two get_peers rounds of a partner. */
const PARTNER_POLL_MS = 3_000;

export const hostPort = (e: Endpoint): string => `${e.host}:${e.port}`;

/** The endpoint a `ready` event announces (host is the address the process was bound to). */
export function readyEndpoint(host: string, ready: JsonEvent): Endpoint {
  return { host, port: num(ready, 'dhtPort') };
}

/** Starts `count` of our `run` nodes on `${prefix}1`, `${prefix}2`, ... and waits until each is ready. */
export async function startOurNodes(group: ProcessGroup, prefix: string, count: number, bootstrap: Endpoint[]): Promise<Endpoint[]> {
  const procs: Array<[string, JsonLineProcess]> = [];
  for (let i = 1; i <= count; i++) {
    const host = `${prefix}${i}`;
    // Each node its own state folder: `run` locks its state store, so two nodes cannot share one.
    const args = ['run', '--bind', host, '--dht-port', '0', '--allow-local', '--ip-rate-limit', '0', '--json'];
    args.push('--state-dir', group.tempDir('interop-run-state-'));
    for (const b of bootstrap) args.push('--bootstrap', hostPort(b));
    procs.push([host, group.cli(`ours run ${host}`, args)]);
  }
  const out: Endpoint[] = [];
  for (const [host, p] of procs) {
    const ready = await p.ready();
    expect(str(ready, 'nodeId')).toMatch(/^[0-9a-f]{40}$/);
    out.push(readyEndpoint(host, ready));
  }
  return out;
}

/** What one run of our `lookup` printed. */
export interface LookupResult {
  ready: JsonEvent;
  peers: Endpoint[];
  done: JsonEvent;
  /** With --announce: the `announced` event (how many of the closest nodes accepted it). */
  announced: JsonEvent | undefined;
  exitCode: number | null;
}

/** Runs our `lookup` once to completion (bounded) and returns its events. */
export async function ourLookup(
  group: ProcessGroup,
  opts: { infohash: string; bind: string; bootstrap: Endpoint[]; announce?: boolean; announcePort?: number },
): Promise<LookupResult> {
  const args = ['lookup', opts.infohash, '--bind', opts.bind, '--dht-port', '0', '--allow-local'];
  args.push('--timeout', String(LOOKUP_TIMEOUT_S), '--json', '--state-dir', group.tempDir('interop-lookup-state-'));
  for (const b of opts.bootstrap) args.push('--bootstrap', hostPort(b));
  if (opts.announce === true || opts.announcePort !== undefined) args.push('--announce');
  if (opts.announcePort !== undefined) args.push('--port', String(opts.announcePort));
  const p = group.cli(`ours lookup ${opts.bind}`, args);
  const ready = await p.ready();
  const done = await p.waitFor((e) => e.event === 'done', LOOKUP_TIMEOUT_S * 1000 + LOOKUP_EXIT_SLACK_MS, 'a done event');
  const status = await p.waitExit(LOOKUP_EXIT_SLACK_MS, 'exit after done');
  const peers = p.events.filter((e) => e.event === 'peer').map((e) => ({ host: str(e, 'host'), port: num(e, 'port') }));
  // The contract: one peer event per peer found, and done.peers counts them.
  expect(num(done, 'peers')).toBe(peers.length);
  expect(num(done, 'queries')).toBeGreaterThan(0);
  const announced = p.events.find((e) => e.event === 'announced');
  return { ready, peers, done, announced, exitCode: status.code };
}

/** Runs our `lookup` until it reports `expected` (the network may still be forming), bounded. */
export async function ourLookupFinds(
  group: ProcessGroup,
  opts: { infohash: string; bind: string; bootstrap: Endpoint[] },
  expected: Endpoint,
): Promise<LookupResult> {
  return retryUntil(`our lookup of ${opts.infohash} finding ${hostPort(expected)}`, FIND_BUDGET_MS, 1_000, async () => {
    const r = await ourLookup(group, opts);
    expect(r.exitCode).toBe(0);
    return r.peers.some((p) => p.host === expected.host && p.port === expected.port) ? r : undefined;
  });
}

/**
 * Sends `get_peers <infohash>` to a partner driver every few seconds until it prints a peer event for
 * `expected`; fails after FIND_BUDGET_MS with the driver's output.
 */
export async function partnerFinds(partner: JsonLineProcess, infohash: string, expected: Endpoint): Promise<JsonEvent> {
  const match = (e: JsonEvent): boolean =>
    e.event === 'peer' && e.infohash === infohash && e.host === expected.host && e.port === expected.port;
  const deadline = Date.now() + FIND_BUDGET_MS;
  while (Date.now() < deadline) {
    partner.send(`get_peers ${infohash}`);
    try {
      return await partner.waitFor(match, Math.min(PARTNER_POLL_MS, Math.max(1, deadline - Date.now())), 'peer');
    } catch (err) {
      if (partner.status !== undefined) throw err;
    }
  }
  throw new Error(`${partner.name}: no peer ${hostPort(expected)} for ${infohash} within ${FIND_BUDGET_MS} ms\n${partner.describe()}`);
}

/** Polls a partner's `nodes` command until its routing table holds at least `min` nodes (bounded). */
export async function partnerHasNodes(partner: JsonLineProcess, min: number, timeoutMs = 30_000): Promise<number> {
  return retryUntil(`${partner.name} knowing ${min} nodes`, timeoutMs, 500, async () => {
    const before = partner.events.length;
    partner.send('nodes');
    const e = await partner.waitFor((ev) => ev.event === 'nodes' && partner.events.indexOf(ev) >= before, 5_000, 'nodes reply');
    const count = num(e, 'count');
    if (count >= min) return count;
    await sleep(500);
    return undefined;
  });
}

/**
 * Runs a describe block's setup in beforeAll but keeps its error: vitest reports the tests of a block
 * whose beforeAll threw as "skipped", and a missing partner must fail every test that needs it, with the
 * setup's message. Call the returned function first in each test.
 */
export function setupOrFail(beforeAllHook: (fn: () => Promise<void>) => void, setup: () => Promise<void>): () => void {
  let failure: unknown;
  beforeAllHook(async () => {
    try {
      await setup();
    } catch (err) {
      failure = err;
    }
  });
  return () => {
    if (failure !== undefined) throw failure;
  };
}

/**
 * Writes `bytes` of reproducible pseudo-random data (SHA-256 in counter mode over `seed`) to `path`: the
 * same seed gives the same file, hence the same info-hash, and no two pieces are alike.
 */
export function writePatternFile(path: string, bytes: number, seed: string): void {
  const out = Buffer.alloc(bytes);
  for (let off = 0, i = 0; off < bytes; off += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off);
  }
  writeFileSync(path, out);
}

/** Fails unless `actual` holds exactly the bytes of `expected` (size and SHA-1 in the message). */
export function expectSameFile(actual: string, expected: string): void {
  const digest = (p: string): string => `${statSync(p).size} bytes, sha1 ${createHash('sha1').update(readFileSync(p)).digest('hex')}`;
  expect(existsSync(actual), `${actual} exists`).toBe(true);
  expect(digest(actual)).toBe(digest(expected));
  expect(Buffer.compare(readFileSync(actual), readFileSync(expected))).toBe(0);
}

/** A magnet link with the info-hash only, or with `x.pe` peers (BEP 9): no tracker, no name. */
export function bareMagnet(infohash: string, peers: Endpoint[] = []): string {
  return `magnet:?xt=urn:btih:${infohash}${peers.map((p) => `&x.pe=${hostPort(p)}`).join('')}`;
}

/** `--timeout` of one `download` run, seconds. */
export const DOWNLOAD_TIMEOUT_S = 60;
/** How long a download process may take beyond its own --timeout before we call it hung. */
const DOWNLOAD_EXIT_SLACK_MS = 15_000;

/** What one run of our `download` printed. */
export interface DownloadResult {
  metadata: JsonEvent;
  complete: JsonEvent;
  exitCode: number | null;
  proc: JsonLineProcess;
}

/**
 * Runs our `download <source>` to completion (bounded by --timeout plus slack) and checks the CLI
 * contract on the way: a metadata event, a complete event with the torrent's size, exit 0.
 */
export async function ourDownload(
  group: ProcessGroup,
  opts: { source: string; bind: string; out: string; peers?: Endpoint[]; bootstrap?: Endpoint[]; dht: boolean },
): Promise<DownloadResult> {
  const args = ['download', opts.source, '--out', opts.out, '--bind', opts.bind, '--port', '0', '--allow-local'];
  args.push('--json', '--timeout', String(DOWNLOAD_TIMEOUT_S), '--state-dir', group.tempDir('interop-download-state-'));
  if (!opts.dht) args.push('--no-dht');
  for (const p of opts.peers ?? []) args.push('--peer', hostPort(p));
  for (const b of opts.bootstrap ?? []) args.push('--bootstrap', hostPort(b));
  const p = group.cli(`ours download ${opts.bind}`, args);
  const budget = DOWNLOAD_TIMEOUT_S * 1000 + DOWNLOAD_EXIT_SLACK_MS;
  const deadline = Date.now() + budget;
  const metadata = await p.waitFor((e) => e.event === 'metadata' || e.event === 'error', budget, 'a metadata event');
  if (metadata.event === 'error') throw new Error(`${p.name} failed: ${JSON.stringify(metadata)}\n${p.describe()}`);
  const complete = await p.waitFor((e) => e.event === 'complete' || e.event === 'error', Math.max(1, deadline - Date.now()), 'a complete event');
  if (complete.event === 'error') throw new Error(`${p.name} failed: ${JSON.stringify(complete)}\n${p.describe()}`);
  expect(num(complete, 'bytes')).toBe(num(metadata, 'bytes'));
  const status = await p.waitExit(DOWNLOAD_EXIT_SLACK_MS, 'exit after complete');
  return { metadata, complete, exitCode: status.code, proc: p };
}

/**
 * Starts our `seed <path>` (a file, or a .torrent whose data is in `out`) and waits for its `ready`
 * event, which the contract prints only once the data is verified.
 */
export async function ourSeed(
  group: ProcessGroup,
  opts: { path: string; bind: string; out?: string; bootstrap?: Endpoint[]; dht: boolean },
): Promise<{ proc: JsonLineProcess; ready: JsonEvent; at: Endpoint }> {
  const args = ['seed', opts.path, '--bind', opts.bind, '--port', '0', '--allow-local', '--json'];
  args.push('--state-dir', group.tempDir('interop-seed-state-'));
  if (opts.out !== undefined) args.push('--out', opts.out);
  if (!opts.dht) args.push('--no-dht');
  for (const b of opts.bootstrap ?? []) args.push('--bootstrap', hostPort(b));
  const proc = group.cli(`ours seed ${opts.bind}`, args);
  const ready = await proc.ready();
  expect(str(ready, 'infohash')).toMatch(/^[0-9a-f]{40}$/);
  return { proc, ready, at: { host: opts.bind, port: num(ready, 'tcpPort') } };
}

/** Budget for a libtorrent leecher to report `complete`. */
export const PARTNER_DOWNLOAD_MS = 60_000;

/**
 * Starts a libtorrent leecher (lt_node.py --download) and waits for its metadata and complete events;
 * `extra` carries driver flags such as --no-dht, --enc or --bootstrap.
 */
export async function libtorrentDownload(
  group: ProcessGroup,
  opts: { source: string; bind: string; savePath: string; peers?: Endpoint[]; extra?: string[] },
): Promise<{ proc: JsonLineProcess; metadata: JsonEvent; complete: JsonEvent }> {
  const args = ['--bind', opts.bind, '--download', opts.source, '--save-path', opts.savePath, ...(opts.extra ?? [])];
  for (const p of opts.peers ?? []) args.push('--peer', hostPort(p));
  const proc = group.libtorrent(`libtorrent leecher ${opts.bind}`, args);
  await proc.ready();
  const deadline = Date.now() + PARTNER_DOWNLOAD_MS;
  const metadata = await proc.waitFor((e) => e.event === 'metadata', PARTNER_DOWNLOAD_MS, 'a metadata event');
  const complete = await proc.waitFor((e) => e.event === 'complete', Math.max(1, deadline - Date.now()), 'a complete event');
  expect(num(complete, 'bytes')).toBe(num(metadata, 'bytes'));
  return { proc, metadata, complete };
}
