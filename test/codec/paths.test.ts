import { join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_COMPONENT_BYTES, MAX_PATH_DEPTH, PathError, resolveInside, sanitizeComponent, sanitizePath } from '../../src/codec/paths.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PathError);
    return (err as PathError).code;
  }
}

describe('sanitizeComponent', () => {
  it('refuses escape attempts on every platform', () => {
    for (const platform of ['posix', 'win32'] as const) {
      for (const bad of ['..', '.', 'a/b', '/etc', 'a\\b', '\\\\server\\share', 'x\0y']) {
        expect(codeOf(() => sanitizeComponent(bad, platform))).toBe('path_escape');
      }
    }
  });

  it('replaces what the platform cannot store', () => {
    expect(sanitizeComponent('a<b>c:d"e|f?g*h', 'win32')).toBe('a_b_c_d_e_f_g_h');
    expect(sanitizeComponent('a<b>c:d', 'posix')).toBe('a<b>c:d');
    expect(sanitizeComponent('C:', 'win32')).toBe('C_');
    expect(sanitizeComponent('tab\there', 'posix')).toBe('tab_here');
    expect(sanitizeComponent('CON', 'win32')).toBe('_CON');
    expect(sanitizeComponent('nul.txt', 'win32')).toBe('_nul.txt');
    expect(sanitizeComponent('CON', 'posix')).toBe('CON');
    expect(sanitizeComponent('trailing. ', 'win32')).toBe('trailing__');
    expect(sanitizeComponent('', 'posix')).toBeUndefined();
  });

  it('shortens overlong names at a character boundary, keeping the extension', () => {
    const long = 'é'.repeat(300) + '.mkv';
    const out = sanitizeComponent(long, 'posix') as string;
    expect(Buffer.byteLength(out, 'utf8')).toBeLessThanOrEqual(MAX_COMPONENT_BYTES);
    expect(out.endsWith('.mkv')).toBe(true);
    expect(out.startsWith('éé')).toBe(true);
    expect(out).not.toContain('\ufffd');
  });
});

describe('sanitizePath', () => {
  it('drops empty components and refuses an empty or too deep path', () => {
    expect(sanitizePath(['', 'a', '', 'b'], 'posix')).toEqual(['a', 'b']);
    expect(codeOf(() => sanitizePath(['', ''], 'posix'))).toBe('path_empty');
    expect(codeOf(() => sanitizePath([], 'posix'))).toBe('path_empty');
    expect(codeOf(() => sanitizePath(new Array<string>(MAX_PATH_DEPTH + 1).fill('a'), 'posix'))).toBe('path_too_deep');
  });
});

describe('resolveInside', () => {
  const root = resolve('/tmp/dl-root');

  it('joins safe components under the root', () => {
    expect(resolveInside(root, ['a', 'b.txt'])).toBe(join(root, 'a', 'b.txt'));
  });

  it('refuses anything that resolves outside, or to the root itself', () => {
    expect(codeOf(() => resolveInside(root, ['..', 'x']))).toBe('path_escape');
    expect(codeOf(() => resolveInside(root, ['a', '..', '..', 'x']))).toBe('path_escape');
    expect(codeOf(() => resolveInside(root, ['/etc/passwd']))).toBe('path_escape');
    expect(codeOf(() => resolveInside(root, ['..' + sep + 'dl-root-sibling']))).toBe('path_escape');
    expect(codeOf(() => resolveInside(root, ['.']))).toBe('path_escape');
    expect(codeOf(() => resolveInside(root, []))).toBe('path_escape');
  });

  it('never escapes for any sanitized input (property, fixed seed)', () => {
    const part = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('..', '.', '/', '\\', 'a/../..', 'C:', '\0'));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        let clean: string[];
        try {
          clean = sanitizePath(parts, 'posix');
        } catch (err) {
          if (err instanceof PathError) return;
          throw err;
        }
        const full = resolveInside(root, clean);
        expect(full.startsWith(root + sep)).toBe(true);
      }),
      { seed: 11, numRuns: 3000 },
    );
  });
});
