/**
 * `dht-node seed <path|file.torrent>`: serve a torrent until SIGINT/SIGTERM (CLI.md). A file or folder is
 * made into a torrent in memory and served from where it lies; a .torrent is served from --out. The life
 * it shares with `download` is in ../swarm-command.ts.
 */
import { runSeed } from '../../app/seed.js';
import { resolveSwarmArgs, runSwarmCommand, torrentDiscoveryHints } from '../swarm-command.js';
import { parsePieceLength } from './create.js';
import type { SeedArgs } from './seed.js';


/** Runs `seed` with parsed arguments. */
export async function runSeedCommand(args: SeedArgs): Promise<void> {
  const common = await resolveSwarmArgs(args);
  const pieceLength = args['piece-length'] === undefined ? undefined : parsePieceLength(args['piece-length']);
  await runSwarmCommand(args, common, 'seed', await torrentDiscoveryHints(args.path), (ctx) =>
    runSeed({
      path: args.path, pieceLength, out: common.dir, peers: common.peers, port: common.port, bind: common.bind,
      uploadLimit: common.uploadLimit, downloadLimit: common.downloadLimit,
      log: ctx.log, onEvent: ctx.onEvent, signal: ctx.signal, ...ctx.discovery,
    }),
  );
}
