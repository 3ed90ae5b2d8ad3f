/**
 * `dht-node seed <path|file.torrent>`: serve a torrent until SIGINT/SIGTERM (CLI.md). A file or folder is
 * made into a torrent in memory and served from where it lies; a .torrent is served from --out. The life
 * it shares with `download` is in ../swarm-command.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { runSeed } from '../../app/seed.js';
import { withDhtOptions } from '../dht-options.js';
import { resolveSwarmArgs, runSwarmCommand, torrentDiscoveryHints, withSwarmOptions, type SwarmArgs } from '../swarm-command.js';
import { parsePieceLength } from './create.js';

interface SeedArgs extends SwarmArgs {
  path: string;
  'piece-length'?: string;
}

export const seedCommand: CommandModule<object, SeedArgs> = {
  command: 'seed <path>',
  describe: 'serve a file, folder or .torrent to peers until stopped',
  builder: (y: Argv) =>
    withSwarmOptions(withDhtOptions(y))
      .positional('path', { type: 'string', demandOption: true, describe: 'file or folder to share, or a .torrent whose data is under --out' })
      .option('piece-length', { type: 'string', describe: 'piece size for a torrent made from <path> (default: from the size)' }) as unknown as Argv<SeedArgs>,
  handler: async (args) => {
    const common = resolveSwarmArgs(args);
    const pieceLength = args['piece-length'] === undefined ? undefined : parsePieceLength(args['piece-length']);
    await runSwarmCommand(args, common, 'seed', await torrentDiscoveryHints(args.path), (ctx) =>
      runSeed({
        path: args.path, pieceLength, out: common.dir, peers: common.peers, port: common.port, bind: common.bind,
        uploadLimit: common.uploadLimit, downloadLimit: common.downloadLimit,
        log: ctx.log, onEvent: ctx.onEvent, signal: ctx.signal, ...ctx.discovery,
      }),
    );
  },
};
