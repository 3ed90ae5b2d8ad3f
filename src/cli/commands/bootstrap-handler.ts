/** `dht-node bootstrap`: run a bootstrap node (CLI.md; bootstrap/README.md is the operator's guide). */
import { startBootstrapNode } from '../../app/bootstrap-node.js';
import type { BootstrapStats } from '../../dht/bootstrap-server.js';
import { DEFAULT_POOL_SIZE } from '../../dht/bootstrap-pool.js';
import { toHex } from '../../util/bytes.js';
import { parseSeconds } from '../args.js';
import { resolveDhtArgs, resolveServiceArgs } from '../dht-options.js';
import { CliError, EXIT } from '../exit-codes.js';
import { runUntilSignal } from '../long-running.js';
import { Output } from '../output.js';
import { describeState, stateSummary } from '../state-report.js';
import { cliLogger } from '../logger.js';
import type { BootstrapArgs } from './bootstrap.js';


function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

function snapshot(s: BootstrapStats): Record<string, unknown> {
  return {
    pool: s.poolSize,
    queued: s.queued,
    queueDropped: s.queueDropped,
    pingsSent: s.pingsSent,
    verified: s.verified,
    rejected: s.rejected,
    nodesServed: s.nodesServed,
    queriesReceived: s.queriesReceived,
    queriesIn: s.rpc.queriesReceived,
    rateLimited: s.rpc.rateLimited,
    dropped: s.rpc.dropped,
  };
}

/** Runs `bootstrap` with parsed arguments: until SIGINT/SIGTERM. */
export async function runBootstrapCommand(args: BootstrapArgs): Promise<void> {
  const out = new Output(args.json ?? false);
  const dhtArgs = resolveDhtArgs(args);
  const service = resolveServiceArgs(args);
  const pingDelayMs = parseSeconds(args['ping-delay'] ?? 900, '--ping-delay');
  const poolSize = Number(args['pool-size'] ?? DEFAULT_POOL_SIZE);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 50_000_000) throw new CliError('bad_pool_size', '--pool-size must be 1..50000000', EXIT.usage);
  const node = await startBootstrapNode({
    bind: dhtArgs.bind,
    port: dhtArgs.dhtPort,
    stateDir: dhtArgs.stateDir,
    pingDelayMs,
    poolSize,
    allowLocal: dhtArgs.allowLocal,
    enforceBep42: args['enforce-bep42'] ?? false,
    rpc: { ipRateLimit: service.ipRateLimit },
  }, cliLogger());
  const { server, clock } = node;
  out.event(
    'ready',
    { dhtPort: node.transport.local.port, nodeId: toHex(server.id), pool: server.pool.size },
    `bootstrap node ${toHex(server.id)} on UDP ${node.transport.local.host}:${node.transport.local.port}, pool ${server.pool.size}/${poolSize}`,
  );
  if (node.stateReport) out.event('state', stateSummary(node.stateReport), describeState(node.stateReport));
  await runUntilSignal({
    out,
    clock,
    statsIntervalMs: service.statsIntervalMs,
    metrics: service.metrics,
    metricsPrefix: 'dht_bootstrap',
    snapshot: () => snapshot(server.stats()),
    line: (s) =>
      `pool ${s.pool} | queued ${s.queued} | pinged ${s.pingsSent} verified ${s.verified} | served ${s.nodesServed} nodes | ` +
      `queries ${s.queriesIn} rate-limited ${s.rateLimited} | dropped ${sum(s.dropped as Record<string, number>)} rejected ${sum(s.rejected as Record<string, number>)}`,
    stop: () => node.close(),
  });
}
