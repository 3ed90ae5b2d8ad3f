/**
 * Finds the files that go into a new torrent: one file, or every regular file under a folder in a stable
 * order (component-wise, by UTF-8 bytes, so the same folder gives the same infohash on every machine and
 * locale). Symbolic links are followed only to files inside the folder; links that leave it, links to
 * folders (which can loop) and special files are skipped and reported.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, isAbsolute, sep } from 'node:path';
import { MAX_FILES } from '../codec/metainfo.js';
import { PathError, sanitizeComponent } from '../codec/paths.js';
import { DhtNodeError } from '../util/errors.js';

/** A create failure. Codes: create_not_found, create_unreadable, create_empty, create_too_many_files, create_input_changed, create_output_exists. */
export class CreateError extends DhtNodeError {}

/** A file to hash. */
export interface ScannedFile {
  /** Absolute path on disk. */
  abs: string;
  /** Components below the torrent folder (for a single file: empty). */
  path: string[];
  length: number;
}

export interface ScanResult {
  name: string;
  /** True when the input was a folder (a multi-file torrent, even with one file inside). */
  multiFile: boolean;
  files: ScannedFile[];
  /** Paths left out, with the reason, for a warning. */
  skipped: { path: string; reason: string }[];
}

function ioError(err: unknown, path: string): CreateError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  if (code === 'ENOENT' || code === 'ENOTDIR') return new CreateError('create_not_found', `${path} does not exist`, { cause: err });
  return new CreateError('create_unreadable', `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

/** A name another client would refuse (paths.ts) cannot go into a torrent we hand out. */
function refusedName(name: string): string | undefined {
  try {
    sanitizeComponent(name, 'posix');
    return undefined;
  } catch (err) {
    return err instanceof PathError ? err.message : String(err);
  }
}

/** Scans `input` (a file or a folder). Throws CreateError. */
export async function scanInput(input: string): Promise<ScanResult> {
  let st;
  try {
    st = await stat(input);
  } catch (err) {
    throw ioError(err, input);
  }
  const given = basename(input.replace(/[\\/]+$/, ''));
  const name = given === '' || given === '.' || given === '..' ? basename(await realpath(input)) : given;
  if (st.isFile()) {
    return { name, multiFile: false, files: [{ abs: input, path: [], length: st.size }], skipped: [] };
  }
  if (!st.isDirectory()) throw new CreateError('create_unreadable', `${input} is neither a file nor a folder`);
  let root: string;
  try {
    root = await realpath(input);
  } catch (err) {
    throw ioError(err, input);
  }
  const result: ScanResult = { name, multiFile: true, files: [], skipped: [] };
  await walk(root, root, [], result);
  return result;
}

async function walk(root: string, dir: string, prefix: string[], out: ScanResult): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw ioError(err, dir);
  }
  names.sort(byUtf8);
  for (const entry of names) {
    const abs = join(dir, entry);
    const path = [...prefix, entry];
    const shown = path.join('/');
    const refused = refusedName(entry);
    if (refused !== undefined) {
      out.skipped.push({ path: shown, reason: refused });
      continue;
    }
    let info;
    try {
      info = await lstat(abs);
    } catch (err) {
      throw ioError(err, abs);
    }
    if (info.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(abs);
        info = await stat(target);
      } catch {
        out.skipped.push({ path: shown, reason: 'broken symbolic link' });
        continue;
      }
      if (!inside(root, target)) {
        out.skipped.push({ path: shown, reason: 'symbolic link leaves the folder' });
        continue;
      }
      if (!info.isFile()) {
        out.skipped.push({ path: shown, reason: 'symbolic link to a folder' });
        continue;
      }
    }
    if (info.isDirectory()) {
      await walk(root, abs, path, out);
    } else if (info.isFile()) {
      if (out.files.length >= MAX_FILES) throw new CreateError('create_too_many_files', `more than ${MAX_FILES} files`);
      out.files.push({ abs, path, length: info.size });
    } else {
      out.skipped.push({ path: shown, reason: 'not a regular file' });
    }
  }
}
