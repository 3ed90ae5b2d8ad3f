/**
 * Composition root for `seed`: serve a torrent until stopped. Two inputs (CLI.md):
 *   - a file or folder: the torrent is made in memory (the storage engineer's create code) and the data is
 *     served from where it lies, read-only;
 *   - a .torrent file: its data is looked for under --out and served read-only.
 * `ready` is emitted only once the data is verified, with the infohash and magnet link.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createTorrentFromPath, CreateError } from '../app/create.js';
import type { Metainfo } from '../codec/metainfo.js';
import { FileStorage } from '../storage/file-storage.js';
import { DecodeError, errorCode, errorMessage } from '../util/errors.js';
import { loadTorrent, SwarmAppError, SwarmRun, type RunOutcome, type SwarmParams } from './download.js';

export interface SeedParams extends SwarmParams {
  /** A file or folder to share, or a .torrent whose data lies under `out`. */
  path: string;
  /** Piece length for a torrent made from `path` (default: chosen from the size). */
  pieceLength?: number | undefined;
}

/** Create failures caused by the input are usage errors. */
const CREATE_USAGE = new Set(['create_not_found', 'create_unreadable', 'create_empty', 'create_bad_piece_length', 'create_too_many_files']);

async function isTorrentFile(path: string): Promise<boolean> {
  if (!path.toLowerCase().endsWith('.torrent')) return false;
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Finds what to seed: the parsed torrent and the folder its files live under. */
async function resolveInput(params: SeedParams): Promise<{ metainfo: Metainfo; root: string }> {
  if (await isTorrentFile(params.path)) return { metainfo: await loadTorrent(params.path), root: params.out };
  try {
    const created = await createTorrentFromPath({}, params.path, { pieceLength: params.pieceLength, signal: params.signal });
    for (const s of created.skipped) params.log.warn(`skipped ${s.path}: ${s.reason}`);
    // The torrent is named after the input; its files live in the folder that holds the input.
    const abs = resolve(params.path);
    if (created.metainfo.name !== basename(abs)) params.log.warn(`torrent name ${created.metainfo.name} differs from ${basename(abs)}`);
    return { metainfo: created.metainfo, root: dirname(abs) };
  } catch (err) {
    if (err instanceof CreateError) throw new SwarmAppError(err.code, err.message, CREATE_USAGE.has(err.code) ? 'usage' : 'runtime', { cause: err });
    if (err instanceof DecodeError) throw new SwarmAppError(err.code, err.message, 'usage', { cause: err });
    throw err;
  }
}

/** Seeds until the signal aborts. Throws SwarmAppError on bad input or when no data verifies. */
export async function runSeed(params: SeedParams): Promise<RunOutcome> {
  const { metainfo, root } = await resolveInput(params);
  let storage: FileStorage;
  try {
    storage = new FileStorage({ log: params.log }, { root, layout: metainfo, readOnly: true });
  } catch (err) {
    throw new SwarmAppError(errorCode(err) ?? 'storage_path_escape', errorMessage(err), 'usage', { cause: err });
  }
  const run = await SwarmRun.open(metainfo, storage, params, { leech: false });
  try {
    const { have, pieces } = run.progress();
    if (have === 0) throw new SwarmAppError('seed_no_data', `no piece of ${metainfo.name} verifies under ${root}`, 'usage');
    if (have < pieces) params.log.warn(`only ${have} of ${pieces} pieces of ${metainfo.name} verify under ${root}; seeding those`);
    params.onEvent('ready', { tcpPort: run.tcpPort, ...params.readyFields, infohash: run.infohash, magnet: run.magnet, name: metainfo.name, bytes: metainfo.totalLength, have, pieces });
    run.startPeers();
    const why = await run.loop(() => false);
    run.report(true);
    if (why === 'failed') throw run.failure();
    return { complete: run.session.isComplete(), stats: run.session.stats() };
  } finally {
    await run.close();
  }
}
