/** `dht-node run`: join the DHT as a long-lived participant (CLI.md). */
import { startDht } from '../../app/dht.js';
import { toHex } from '../../util/bytes.js';
import { errorMessage } from '../../util/errors.js';
import { cliLogger } from '../logger.js';
import { resolveDhtArgs, resolveServiceArgs } from '../dht-options.js';
import { runUntilSignal } from '../long-running.js';
import { Output } from '../output.js';
import { StatsReporter } from '../stats-line.js';
import type { Bep42Policy } from '../../dht/routing-table.js';
import { describeState, stateSummary } from '../state-report.js';
import type { RunArgs } from './run.js';


/** Runs `run` with parsed arguments: until SIGINT/SIGTERM. */
export async function runRunCommand(args: RunArgs): Promise<void> {
  const out = new Output(args.json ?? false);
  const dhtArgs = resolveDhtArgs(args);
  const service = resolveServiceArgs(args);
  const dht = await startDht(
    {
      bind: dhtArgs.bind,
      bind6: dhtArgs.bind6,
      port: dhtArgs.dhtPort,
      bootstrap: dhtArgs.bootstrap,
      allowLocal: dhtArgs.allowLocal,
      rpc: { ipRateLimit: service.ipRateLimit },
      bep42: (args.bep42 ?? 'off') as Bep42Policy,
      // BEP 42: once others tell us our external IP, our id is made to match it.
      deriveIdFromIp: true,
      state: { dir: dhtArgs.stateDir, role: 'run', optional: false },
    },
    cliLogger(),
  );
  const { node, clock } = dht;
  out.event(
    'ready',
    {
      dhtPort: dht.transport.local.port,
      ...(dht.transport6 ? { dhtPort6: dht.transport6.local.port } : {}),
      nodeId: toHex(node.id),
      savedContacts: dht.savedContacts.length,
    },
    `DHT node ${toHex(node.id)} on UDP ${dht.transport.local.host}:${dht.transport.local.port}`,
  );
  if (dht.stateReport) out.event('state', stateSummary(dht.stateReport), describeState(dht.stateReport));
  // A restart pings the contacts it saved and rejoins from those that answer (seedsFor falls back to
  // the bootstrap list only while the table is thin). With BEP 32 each family's node does the same.
  for (const n of dht.nodes) {
    n.start();
    n.restore(dht.savedContacts)
      .then(async (answered) => {
        if (dht.savedContacts.length > 0 && n === node) out.event('restored', { saved: dht.savedContacts.length, answered }, `${answered} of ${dht.savedContacts.length} saved contacts answered`);
        const s = await n.bootstrap();
        out.event(
          'bootstrapped',
          { family: n.family, nodes: n.table.size, queries: s.queries, ms: Math.round(s.ms) },
          `joined over IPv${n.family}: ${n.table.size} nodes in the table after ${s.queries} queries`,
        );
      })
      .catch((err: unknown) => out.warn(`bootstrap failed: ${errorMessage(err)}`));
  }
  const reporter = new StatsReporter(clock);
  await runUntilSignal({
    out,
    clock,
    statsIntervalMs: service.statsIntervalMs,
    metrics: service.metrics,
    metricsPrefix: 'dht_node',
    snapshot: () => ({ ...reporter.event(node.stats()), ...(dht.node6 ? { nodes6: dht.node6.table.size } : {}) }),
    line: (s) => reporter.line(s),
    stop: () => dht.close(),
  });
}
