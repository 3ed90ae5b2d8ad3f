// Benchmark (not part of the test suite): save, reopen (read-through verify) and load a large bootstrap
// pool through the LevelDB state store. Usage: node test/bench/state-pool.mjs [entries=1000000]
// It transpiles src/util and src/state on the fly (type-stripping only), so no build step is needed.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ts from 'typescript';

const ROOT = new URL('../../', import.meta.url).pathname;
const N = Number(process.argv[2] ?? 1_000_000);
const work = mkdtempSync(join(tmpdir(), 'dht-state-bench-'));
symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
writeFileSync(join(work, 'package.json'), '{"type":"module"}');
for (const dir of ['util', 'state']) {
  mkdirSync(join(work, 'src', dir), { recursive: true });
  for (const f of readdirSync(join(ROOT, 'src', dir))) {
    if (!f.endsWith('.ts')) continue;
    const js = ts.transpileModule(readFileSync(join(ROOT, 'src', dir, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(work, 'src', dir, f.replace(/\.ts$/, '.js')), js.outputText);
  }
}
const { openLevelStore } = await import(join(work, 'src/state/level-store.js'));

function* pool(n) {
  for (let i = 0; i < n; i++) {
    const id = new Uint8Array(20);
    const v = new DataView(id.buffer);
    v.setUint32(0, Math.imul(i, 2654435761) >>> 0);
    v.setUint32(16, i);
    yield { id, host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1 + (i % 65535), addedAt: 1.7e12 + i };
  }
}

const dir = join(work, 'db');
const mb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
const time = async (label, fn) => {
  const t = performance.now();
  const r = await fn();
  console.log(`${label}: ${((performance.now() - t) / 1000).toFixed(2)} s, rss ${mb()} MiB`);
  return r;
};

let s = await openLevelStore(dir);
await time(`save ${N}`, () => s.savePool(pool(N)));
await time(`save ${N} again (replace-all)`, () => s.savePool(pool(N)));
await s.close();
s = await time('open (read-through verify)', () => openLevelStore(dir));
const r = await time(`load`, () => s.loadPool());
console.log(`loaded ${r.entries.length}, skipped ${r.skipped}`);
await s.close();
await time('open without verify', async () => (await openLevelStore(dir, {}, { verify: false })).close());
rmSync(work, { recursive: true, force: true });
