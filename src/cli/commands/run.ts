/** `dht-node run`: join the DHT as a long-lived participant (CLI.md). */
import type { Argv, CommandModule } from 'yargs';
import { startDht } from '../../app/dht.js';
import { DEFAULT_IP_RATE_LIMIT } from '../../krpc/ip-limiter.js';
import { toHex } from '../../util/bytes.js';
import { errorMessage } from '../../util/errors.js';
import { stderrLogger } from '../../util/log.js';
import { parseSeconds } from '../args.js';
import { resolveDhtArgs, withDhtOptions, type DhtArgs } from '../dht-options.js';
import { CliError, EXIT } from '../exit-codes.js';
import { Output } from '../output.js';
import { onShutdown } from '../shutdown.js';
import { StatsReporter } from '../stats-line.js';
import { keepProcessAlive } from '../../util/clock.js';

interface RunArgs extends DhtArgs {
  'ip-rate-limit'?: number;
  'stats-interval'?: number;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'join the DHT as a long-lived participant',
  builder: (y: Argv) =>
    withDhtOptions(y)
      .option('port', { type: 'number', describe: 'alias for --dht-port (the UDP port)' })
      .option('ip-rate-limit', { type: 'number', default: DEFAULT_IP_RATE_LIMIT, describe: 'queries/s one address may send before it is ignored for 5 minutes; 0 = off' })
      .option('stats-interval', { type: 'number', describe: 'print a one-line summary every N seconds' }) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    const out = new Output(args.json ?? false);
    const dhtArgs = resolveDhtArgs(args);
    const rate = Number(args['ip-rate-limit'] ?? DEFAULT_IP_RATE_LIMIT);
    if (!Number.isFinite(rate) || rate < 0) throw new CliError('bad_rate', '--ip-rate-limit must be 0 or more', EXIT.usage);
    const statsMs = args['stats-interval'] === undefined ? undefined : parseSeconds(args['stats-interval'], '--stats-interval');
    const log = stderrLogger('warn');
    const dht = await startDht(
      { bind: dhtArgs.bind, port: dhtArgs.dhtPort, bootstrap: dhtArgs.bootstrap, allowLocal: dhtArgs.allowLocal, rpc: { ipRateLimit: rate } },
      log,
    );
    const { node, clock } = dht;
    out.event('ready', { dhtPort: dht.transport.local.port, nodeId: toHex(node.id) }, `DHT node ${toHex(node.id)} on UDP ${dht.transport.local.host}:${dht.transport.local.port}`);
    node.start();
    node
      .bootstrap()
      .then((s) => out.event('bootstrapped', { nodes: node.table.size, queries: s.queries, ms: Math.round(s.ms) }, `joined: ${node.table.size} nodes in the table after ${s.queries} queries`))
      .catch((err: unknown) => out.warn(`bootstrap failed: ${errorMessage(err)}`));

    await new Promise<void>((resolve) => {
      const reporter = new StatsReporter(clock);
      reporter.event(node.stats());
      const tick = (): void => {
        const e = reporter.event(node.stats());
        out.event('stats', e, reporter.line(e));
        timer = clock.setTimeout(tick, statsMs as number);
      };
      let timer = statsMs === undefined ? undefined : clock.setTimeout(tick, statsMs);
      const release = keepProcessAlive();
      onShutdown(async () => {
        if (timer) clock.clearTimeout(timer);
        release();
        const e = reporter.event(node.stats());
        out.event('stopped', e, `stopped: ${reporter.line(e)}`);
        await dht.close();
        resolve();
      });
    });
  },
};
