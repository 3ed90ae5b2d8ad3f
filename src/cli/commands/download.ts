/**
 * `dht-node download <file.torrent>`: fetch a torrent's data from peers, verify every piece, optionally keep
 * seeding (CLI.md). The work is in src/app/download.ts; this file parses flags, renders output and maps
 * outcomes to exit codes. Magnet links and bare infohashes need the DHT and BEP 9 metadata fetch, which are
 * wired in separately; until then they are refused with a clear message (exit 2).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runDownload } from '../../app/download.js';
import { keepProcessAlive } from '../../util/clock.js';
import { stderrLogger } from '../../util/log.js';
import { parseSeconds } from '../args.js';
import { withDhtOptions } from '../dht-options.js';
import { CliError, EXIT } from '../exit-codes.js';
import { onShutdown } from '../shutdown.js';
import { makeSink, mapFailure, resolveSwarmArgs, withSwarmOptions, type SwarmArgs } from './seed.js';

interface DownloadArgs extends SwarmArgs {
  source: string;
  'seed-after'?: boolean;
  timeout?: number;
}

export const downloadCommand: CommandModule<object, DownloadArgs> = {
  command: 'download <source>',
  describe: 'download a torrent (.torrent file) from peers and verify it',
  builder: (y: Argv) =>
    withSwarmOptions(withDhtOptions(y))
      .positional('source', { type: 'string', demandOption: true, describe: '.torrent file (magnet links and infohashes need the DHT)' })
      .option('seed-after', { type: 'boolean', default: false, describe: 'keep seeding after the download completes' })
      .option('timeout', { type: 'number', describe: 'give up (exit 3) if not complete after this many seconds' }) as unknown as Argv<DownloadArgs>,
  handler: async (args) => {
    const common = resolveSwarmArgs(args);
    const timeoutMs = args.timeout === undefined ? undefined : parseSeconds(args.timeout, '--timeout');
    if (/^magnet:/i.test(args.source) || /^[0-9a-fA-F]{40}$/.test(args.source)) {
      throw new CliError('magnet_unsupported', 'downloading from a magnet link or infohash needs the DHT metadata fetch, not available in this command yet; pass a .torrent file', EXIT.usage);
    }
    const sink = makeSink(common.out);
    const controller = new AbortController();
    const stopSignals = onShutdown(() => controller.abort());
    const release = keepProcessAlive();
    try {
      await runDownload({
        torrent: resolve(args.source), out: common.dir, peers: common.peers, port: common.port, bind: common.bind,
        uploadLimit: common.uploadLimit, downloadLimit: common.downloadLimit, seedAfter: args['seed-after'] === true, timeoutMs,
        log: stderrLogger('warn'), onEvent: sink.onEvent, signal: controller.signal,
      });
    } catch (err) {
      throw mapFailure(err);
    } finally {
      sink.end();
      release();
      stopSignals();
    }
  },
};
