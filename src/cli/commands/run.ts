/** `dht-node run`: join the DHT as a long-lived participant (CLI.md). */
import type { Argv, CommandModule } from 'yargs';
import { startDht } from '../../app/dht.js';
import { toHex } from '../../util/bytes.js';
import { errorMessage } from '../../util/errors.js';
import { stderrLogger } from '../../util/log.js';
import { resolveDhtArgs, withDhtOptions, withServiceOptions, resolveServiceArgs, type DhtArgs, type ServiceArgs } from '../dht-options.js';
import { runUntilSignal } from '../long-running.js';
import { Output } from '../output.js';
import { StatsReporter } from '../stats-line.js';

type RunArgs = DhtArgs & ServiceArgs;

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'join the DHT as a long-lived participant',
  builder: (y: Argv) =>
    withServiceOptions(withDhtOptions(y)).option('port', { type: 'number', describe: 'alias for --dht-port (the UDP port)' }) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    const out = new Output(args.json ?? false);
    const dhtArgs = resolveDhtArgs(args);
    const service = resolveServiceArgs(args);
    const dht = await startDht(
      { bind: dhtArgs.bind, port: dhtArgs.dhtPort, bootstrap: dhtArgs.bootstrap, allowLocal: dhtArgs.allowLocal, rpc: { ipRateLimit: service.ipRateLimit } },
      stderrLogger('warn'),
    );
    const { node, clock } = dht;
    out.event('ready', { dhtPort: dht.transport.local.port, nodeId: toHex(node.id) }, `DHT node ${toHex(node.id)} on UDP ${dht.transport.local.host}:${dht.transport.local.port}`);
    node.start();
    node
      .bootstrap()
      .then((s) => out.event('bootstrapped', { nodes: node.table.size, queries: s.queries, ms: Math.round(s.ms) }, `joined: ${node.table.size} nodes in the table after ${s.queries} queries`))
      .catch((err: unknown) => out.warn(`bootstrap failed: ${errorMessage(err)}`));
    const reporter = new StatsReporter(clock);
    await runUntilSignal({
      out,
      clock,
      statsIntervalMs: service.statsIntervalMs,
      metrics: service.metrics,
      metricsPrefix: 'dht_node',
      snapshot: () => reporter.event(node.stats()),
      line: (s) => reporter.line(s),
      stop: () => dht.close(),
    });
  },
};

