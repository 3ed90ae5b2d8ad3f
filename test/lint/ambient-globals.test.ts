/**
 * The lint rule of STYLE.md convention 5: only src/util/ may read the wall clock, schedule timers or draw
 * randomness; everything else is handed a Clock and a Random so tests can control them. (src/net/ and
 * src/app/ build real sockets but still take time from a Clock.)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../src/', import.meta.url).pathname;
// Bare timer calls only: `clock.setTimeout(` is the injected clock and is what we want.
const FORBIDDEN = /\b(Date\.now\(|Math\.random\(|performance\.now\()|(?<![.\w])(setTimeout|setInterval|setImmediate|randomBytes)\(/;
const ALLOWED_DIRS = ['util/', 'cli/main.ts'];

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

describe('ambient time and randomness', () => {
  it('appear only in src/util/', () => {
    const offenders: string[] = [];
    for (const file of walk(ROOT)) {
      const rel = relative(ROOT, file);
      if (ALLOWED_DIRS.some((d) => rel.startsWith(d))) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (FORBIDDEN.test(code)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});

describe('the rule itself', () => {
  it('catches bare globals and lets the injected clock through', () => {
    for (const bad of ['setTimeout(f, 1)', 'x = Date.now()', 'Math.random()', 'randomBytes(4)', ' setInterval(f, 5)']) expect(FORBIDDEN.test(bad)).toBe(true);
    for (const ok of ['clock.setTimeout(f, 1)', 'this.clock.clearTimeout(h)', 'random.bytes(4)']) expect(FORBIDDEN.test(ok)).toBe(false);
  });
});
