/**
 * Child processes in the state tests run our real store code, so they need it as JavaScript: this
 * transpiles src/util and src/state (type-stripping only, no type-check) into a temp folder that links
 * the project's node_modules, so `level` resolves as it does for the project.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Returns the folder holding `src/state/*.js` and `src/util/*.js`. */
export function buildStateForChild(): string {
  const out = mkdtempSync(join(tmpdir(), 'dht-state-child-'));
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  for (const dir of ['util', 'state']) {
    mkdirSync(join(out, 'src', dir), { recursive: true });
    for (const file of readdirSync(join(ROOT, 'src', dir))) {
      if (!file.endsWith('.ts')) continue;
      const js = ts.transpileModule(readFileSync(join(ROOT, 'src', dir, file), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(join(out, 'src', dir, file.replace(/\.ts$/, '.js')), js.outputText);
    }
  }
  return out;
}
