/**
 * `dht-node create <file|dir>`: make a .torrent and print its infohash and magnet link (CLI.md). The work is
 * in src/app/create.ts; this file parses flags, renders progress and output, and maps failures to exits.
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { createTorrentFromPath, CreateError, writeTorrentFile, type CreateProgress } from '../../app/create.js';
import { DecodeError } from '../../util/errors.js';
import { CliError, EXIT } from '../exit-codes.js';
import { Output } from '../output.js';

interface CreateArgs {
  path: string;
  out?: string;
  'piece-length'?: string;
  tracker?: string[];
  comment?: string;
  private?: boolean;
  force?: boolean;
  json?: boolean;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2 };

/** `262144`, `256k`, `4M` (binary multiples). */
export function parsePieceLength(text: string): number {
  const m = /^\s*(\d+)\s*([kKmM]?)(?:i?B)?\s*$/.exec(text);
  if (!m) throw new CliError('bad_piece_length', `--piece-length "${text}" is not a size such as 256k or 1M`, EXIT.usage);
  return Number(m[1]) * (SIZE_UNITS[(m[2] as string).toLowerCase()] as number);
}

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

export const createCommand: CommandModule<object, CreateArgs> = {
  command: 'create <path>',
  describe: 'make a .torrent from a file or folder and print its magnet link',
  builder: (y: Argv) =>
    y
      .positional('path', { type: 'string', demandOption: true, describe: 'file or folder to share' })
      .option('out', { alias: 'o', type: 'string', describe: 'where to write the .torrent (default <name>.torrent here)' })
      .option('piece-length', { type: 'string', describe: 'piece size, a power of two from 16k to 64M (default: from the size)' })
      .option('tracker', { type: 'string', array: true, describe: 'tracker URL to put in the torrent (repeatable)' })
      .option('comment', { type: 'string', describe: 'comment stored in the torrent' })
      .option('private', { type: 'boolean', default: false, describe: 'set the BEP 27 private flag (no DHT)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON event per line on stdout' }) as unknown as Argv<CreateArgs>,
  handler: async (args) => {
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
  },
};
