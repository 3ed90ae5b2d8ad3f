/**
 * `dht-node create <file|dir>`: make a .torrent and print its infohash and magnet link (CLI.md). The work is
 * in src/app/create.ts; this file checks flags, renders progress and output, and maps failures to exits.
 */
import { resolve } from 'node:path';
import { createTorrentFromPath, CreateError, writeTorrentFile, type CreateProgress } from '../../app/create.js';
import { DecodeError } from '../../util/errors.js';
import { CliError, EXIT } from '../exit-codes.js';
import { Output } from '../output.js';
import { parsePieceLength, type CreateArgs } from './create.js';

/** Create failures caused by the input or the flags are usage errors (exit 2); the rest are run-time failures. */
const USAGE_CODES = new Set(['create_not_found', 'create_unreadable', 'create_empty', 'create_bad_piece_length', 'create_too_many_files']);

/** A progress line on stderr that redraws in place, at most once per whole percent. */
function terminalProgress(): { update: (p: CreateProgress) => void; end: () => void } {
  let shown = -1;
  return {
    update(p) {
      const percent = Math.floor((p.bytesHashed / p.totalBytes) * 100);
      if (percent === shown) return;
      shown = percent;
      process.stderr.write(`\rhashing ${percent}% (${(p.bytesHashed / 1048576).toFixed(0)} of ${(p.totalBytes / 1048576).toFixed(0)} MiB)`);
    },
    end() {
      if (shown >= 0) process.stderr.write('\n');
    },
  };
}

/** Progress only pays off on large inputs. */
const PROGRESS_MIN_BYTES = 64 * 1024 * 1024;

/** Runs `create` with parsed arguments. */
export async function runCreateCommand(args: CreateArgs): Promise<void> {
  const out = new Output(args.json === true);
  const pieceLength = args['piece-length'] !== undefined ? parsePieceLength(args['piece-length']) : undefined;
  const progress = !args.json && process.stderr.isTTY ? terminalProgress() : undefined;
  let created;
  try {
    created = await createTorrentFromPath({}, args.path, {
      pieceLength,
      trackers: args.tracker ?? [],
      comment: args.comment,
      private: args.private,
      onProgress: progress ? (p) => p.totalBytes >= PROGRESS_MIN_BYTES && progress.update(p) : undefined,
    });
  } catch (err) {
    if (err instanceof CreateError) throw new CliError(err.code, err.message, USAGE_CODES.has(err.code) ? EXIT.usage : EXIT.failure);
    if (err instanceof DecodeError) throw new CliError(err.code, err.message, EXIT.usage);
    throw err;
  } finally {
    progress?.end();
  }
  for (const s of created.skipped) out.warn(`skipped ${s.path}: ${s.reason}`);
  const file = resolve(args.out ?? `${created.metainfo.name}.torrent`);
  try {
    await writeTorrentFile(file, created.torrent, { force: args.force === true });
  } catch (err) {
    if (err instanceof CreateError) throw new CliError(err.code, err.message, EXIT.failure);
    throw err;
  }
  const m = created.metainfo;
  out.event(
    'created',
    { infohash: created.infoHashHex, magnet: created.magnet, file, name: m.name, pieces: m.pieceCount, pieceLength: m.pieceLength, bytes: m.totalLength, files: m.files.length },
    `wrote ${file}\ninfohash ${created.infoHashHex}\n${m.files.length} file(s), ${m.totalLength} bytes, ${m.pieceCount} pieces of ${m.pieceLength} bytes\n${created.magnet}`,
  );
}
