/**
 * File names from a torrent are hostile input: a path list is chosen by whoever made the torrent, and a
 * client that joins it naively onto a folder can be made to write anywhere (`..`, absolute paths, drive
 * letters, separators smuggled inside one component). This module turns BEP 3 `path` lists into safe
 * relative component lists, and resolves them under a target folder with a final containment check.
 *
 * Policy (docs/storage.md): anything that tries to leave the folder (`..`, `.`, a separator or NUL inside a
 * component) is refused with a PathError; characters that are merely invalid on the
 * platform are replaced with `_`; empty components are dropped (libtorrent does the same); overlong
 * components are shortened at a character boundary, keeping the extension.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { DhtNodeError } from '../util/errors.js';

/** A refused path. Codes: path_escape, path_invalid, path_empty, path_too_deep. */
export class PathError extends DhtNodeError {}

/** NAME_MAX on Linux, macOS and NTFS, counted in UTF-8 bytes (the strictest of the three units). */
export const MAX_COMPONENT_BYTES = 255;

/** Deeper than any real torrent; bounds work and keeps joined paths well under PATH_MAX (4096). */
export const MAX_PATH_DEPTH = 64;

/** The character used in place of one that the platform cannot store in a file name. */
const REPLACEMENT = '_';

/** Which file-system rules to apply; defaults to the running platform. */
export type PathPlatform = 'posix' | 'win32';

/** Windows device names that open a device instead of a file, in any case and with any extension. */
const WIN_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
/** Characters NTFS refuses in names, plus C0 controls (0x01-0x1f); NUL is handled as an escape attempt. */
const WIN_INVALID = /[<>:"|?*\u0001-\u001f]/g;
/** C0 controls other than NUL are legal on POSIX but break terminals and scripts; we replace them too. */
const POSIX_INVALID = /[\u0001-\u001f\u007f]/g;

export function defaultPlatform(): PathPlatform {
  return process.platform === 'win32' ? 'win32' : 'posix';
}

/**
 * Makes one path component safe, or throws a PathError when it is an attempt to escape. Returns
 * undefined for an empty component (which the caller drops).
 */
export function sanitizeComponent(component: string, platform: PathPlatform = defaultPlatform()): string | undefined {
  if (component.length === 0) return undefined;
  if (component === '.' || component === '..') {
    throw new PathError('path_escape', `path component "${component}" refers outside its folder`);
  }
  // A separator inside one component would split it into several on disk, which is how `a/../../x` or
  // `/etc/passwd` gets past a component-wise check; both separators count, since a torrent made on one
  // platform is opened on the other.
  if (component.includes('/') || component.includes('\\') || component.includes('\0')) {
    throw new PathError('path_escape', `path component ${JSON.stringify(component)} contains a separator or NUL`);
  }
  // On Windows `:` is replaced with the other invalid characters, which also defuses drive-relative names
  // (`C:x`) and alternate data streams (`a:b`); on POSIX a colon is an ordinary character.
  let out = component.replace(platform === 'win32' ? WIN_INVALID : POSIX_INVALID, REPLACEMENT);
  if (platform === 'win32') {
    // Windows silently strips trailing dots and spaces, so "a." and "a" would be the same file.
    out = out.replace(/[. ]+$/, (m) => REPLACEMENT.repeat(m.length));
    if (WIN_RESERVED.test(out)) out = REPLACEMENT + out;
  }
  out = shortenComponent(out);
  return out;
}

/** Shortens a name to MAX_COMPONENT_BYTES UTF-8 bytes at a code point boundary, keeping a short extension. */
function shortenComponent(name: string): string {
  if (Buffer.byteLength(name, 'utf8') <= MAX_COMPONENT_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const budget = MAX_COMPONENT_BYTES - Buffer.byteLength(ext, 'utf8');
  let stem = '';
  let used = 0;
  for (const ch of name.slice(0, name.length - ext.length)) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > budget) break;
    stem += ch;
    used += n;
  }
  return stem + ext;
}

/**
 * Sanitizes a whole path list (BEP 3 `path`, or `[name]`). Empty components are dropped; a list left
 * empty, or deeper than MAX_PATH_DEPTH, is refused.
 */
export function sanitizePath(components: readonly string[], platform: PathPlatform = defaultPlatform()): string[] {
  if (components.length > MAX_PATH_DEPTH) {
    throw new PathError('path_too_deep', `path has ${components.length} components (max ${MAX_PATH_DEPTH})`);
  }
  const out: string[] = [];
  for (const c of components) {
    const clean = sanitizeComponent(c, platform);
    if (clean !== undefined) out.push(clean);
  }
  if (out.length === 0) throw new PathError('path_empty', 'path has no non-empty component');
  return out;
}

/**
 * Resolves sanitized components under `root` and proves the result stays inside it (a second line of
 * defence behind sanitizePath: whatever slipped through, nothing outside `root` is ever opened).
 * Symbolic links already present inside `root` are the owner's and are not inspected.
 */
export function resolveInside(root: string, components: readonly string[]): string {
  const base = resolve(root);
  const full = resolve(base, ...components);
  const rel = relative(base, full);
  if (rel === '' || rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel) || !full.startsWith(base.endsWith(sep) ? base : base + sep)) {
    throw new PathError('path_escape', `path ${JSON.stringify(components.join('/'))} resolves outside ${base}`);
  }
  return full;
}
