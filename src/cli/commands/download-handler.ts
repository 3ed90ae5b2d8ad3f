/**
 * `dht-node download <magnet|infohash|file.torrent>`: fetch the metadata if needed (BEP 9, from peers the
 * DHT and the link's hints find), download from peers, verify every piece, optionally keep seeding
 * (CLI.md). The work is in src/app/; this file checks flags, renders output and maps outcomes to exits.
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runDownload, type DownloadSource } from '../../app/download.js';
import { findMetadata } from '../../app/magnet.js';
import { parseMagnet, type MagnetLink } from '../../codec/magnet.js';
import { SystemRandom } from '../../util/random.js';
import { generatePeerId } from '../../wire/handshake.js';
import { errorCode, errorMessage } from '../../util/errors.js';
import { SystemClock } from '../../util/clock.js';
import { parseSeconds } from '../args.js';
import { CliError, EXIT } from '../exit-codes.js';
import { resolveSwarmArgs, runSwarmCommand, torrentDiscoveryHints, trackerCode } from '../swarm-command.js';
import type { DownloadArgs } from './download.js';

/** A magnet link or a 40-hex infohash, else a .torrent path (which must exist). */
async function resolveSource(text: string): Promise<{ kind: 'torrent'; path: string } | { kind: 'magnet'; magnet: MagnetLink }> {
  if (/^magnet:/i.test(text) || /^[0-9a-fA-F]{40}$/.test(text.trim())) {
    try {
      return { kind: 'magnet', magnet: parseMagnet(text) };
    } catch (err) {
      throw new CliError(errorCode(err) ?? 'bad_magnet', `"${text}": ${errorMessage(err)}`, EXIT.usage);
    }
  }
  try {
    await access(text);
  } catch {
    throw new CliError('torrent_unreadable', `${text} is neither a magnet link, an infohash nor a readable .torrent file`, EXIT.usage);
  }
  return { kind: 'torrent', path: resolve(text) };
}


/** Runs `download` with parsed arguments. */
export async function runDownloadCommand(args: DownloadArgs): Promise<void> {
  const common = await resolveSwarmArgs(args);
  const timeoutMs = args.timeout === undefined ? undefined : parseSeconds(args.timeout, '--timeout');
  const source = await resolveSource(args.source);
  if (source.kind === 'magnet' && args.dht === false && common.peers.length === 0 && source.magnet.peers.length === 0 && source.magnet.trackers.length + common.trackers.length === 0) {
    throw new CliError('no_peer_source', 'with --no-dht a magnet link needs a tracker, --peer addresses or x.pe hints', EXIT.usage);
  }
  const hints = source.kind === 'torrent' ? await torrentDiscoveryHints(source.path) : { trackers: source.magnet.trackers, private: false };
  await runSwarmCommand(args, common, 'download', hints, (ctx) => {
    const peerId = generatePeerId(new SystemRandom());
    const downloadSource: DownloadSource =
      source.kind === 'torrent'
        ? source
        : {
            kind: 'magnet',
            magnet: source.magnet,
            findMetadata: async (signal, tcpPort) =>
              findMetadata({
                infoHash: source.magnet.infoHash,
                peerId,
                peers: [...source.magnet.peers, ...common.peers],
                dht: ctx.dht,
                extraSources:
                  ctx.trackers.length > 0
                    ? [(await trackerCode()).trackerMetadataSource(ctx.trackers, source.magnet.infoHash, peerId, tcpPort, common.allowLocal, common.bind, ctx.log)]
                    : [],
                bind: common.bind,
                clock: new SystemClock(),
                random: new SystemRandom(),
                log: ctx.log,
                signal,
              }),
          };
    return runDownload({
      source: downloadSource, out: common.dir, peers: common.peers, port: common.port, bind: common.bind,
      uploadLimit: common.uploadLimit, downloadLimit: common.downloadLimit, seedAfter: args['seed-after'] === true, timeoutMs,
      log: ctx.log, onEvent: ctx.onEvent, signal: ctx.signal, ...ctx.discovery,
    });
  });
}
