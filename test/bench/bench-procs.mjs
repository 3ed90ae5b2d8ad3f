/**
 * Shared helpers of the download, swarm and magnet benchmarks (docs/benchmarks.md): spawning our CLI and
 * the libtorrent driver as JSON-line processes, waiting for their events with a bound, measuring a
 * process's CPU time, generating data, and printing tables. Benchmarks may use wall-clock time and
 * randomness directly (they are not src/ code and never run in the test suites).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');
export const LT_BENCH = join(ROOT, 'test/bench/lt_bench.py');
export const PYTHON = process.env.INTEROP_PYTHON ?? '/usr/bin/python3';
export const TIME = '/usr/bin/time';
export const MiB = 1024 * 1024;

export const now = () => performance.now();

/** A child process printing one JSON object per line; `t0` is taken just before spawn. */
export class Proc {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.events = [];
    this.stderr = [];
    this.waiters = [];
    this.timeFile = opts.timeFile;
    this.t0 = now();
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => {
      this.exitCode = code ?? sig;
      this.tExit = now();
      resolve(code);
      this.wake();
    }));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let ev;
      try { ev = JSON.parse(line); } catch { return; }
      ev.at = now() - this.t0; // wall ms since spawn, as the harness saw it
      this.events.push(ev);
      this.wake();
    });
    createInterface({ input: this.proc.stderr }).on('line', (line) => {
      this.stderr.push(line);
      if (this.stderr.length > 40) this.stderr.shift();
    });
  }

  wake() { for (const w of this.waiters.splice(0)) w(); }

  /** The first `name` event; throws on an error event, an early exit, or after `timeoutMs`. */
  waitFor(name, timeoutMs = 60_000) {
    return this.waitUntil(name, () => true, timeoutMs);
  }

  /** The first `name` event for which `accept(event)` holds; otherwise as waitFor. */
  async waitUntil(name, accept, timeoutMs = 60_000) {
    const limit = now() + timeoutMs;
    for (;;) {
      const e = this.events.find((ev) => (ev.event === name && accept(ev)) || ev.event === 'error');
      if (e?.event === 'error') throw new Error(`${this.name}: error ${e.code}: ${e.message}`);
      if (e) return e;
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited (${this.exitCode}) before "${name}"\n${this.stderr.join('\n')}`);
      const left = limit - now();
      if (left <= 0) throw new Error(`${this.name}: no "${name}" within ${timeoutMs} ms\n${this.stderr.join('\n')}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Waits for exit (bounded), then returns /usr/bin/time's user+sys CPU seconds if it was wrapped. */
  async cpuSeconds(timeoutMs = 20_000) {
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs))]);
    if (!this.timeFile) return undefined;
    const text = await readFile(this.timeFile, 'utf8').catch(() => '');
    const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(text.trim());
    return m ? Number(m[1]) + Number(m[2]) : undefined;
  }

  stop() { if (this.exitCode === undefined) this.proc.kill('SIGTERM'); }
  kill() { if (this.exitCode === undefined) this.proc.kill('SIGKILL'); }
}

/** Our CLI: `node dist/cli/main.js <args> --json --allow-local`; with `timeFile`, under /usr/bin/time. */
export function ours(name, args, timeFile) {
  const argv = [...cliNodeFlags(), CLI, ...args, '--json', '--allow-local'];
  if (timeFile) return new Proc(name, TIME, ['-f', '%U %S', '-o', timeFile, process.execPath, ...argv], { timeFile });
  return new Proc(name, process.execPath, argv);
}

/**
 * The Node flags in our bin's shebang (src/cli/main.ts, `#!/usr/bin/env -S node <flags>`), so a benchmark
 * runs the CLI exactly as the installed `dht-node` command does.
 */
export function cliNodeFlags() {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0];
  const m = /^#!\S*env\s+(?:-S\s+)?node\b(.*)$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

/** The libtorrent driver (it reports its own CPU time in `complete`). */
export function lt(name, args) {
  return new Proc(name, PYTHON, [LT_BENCH, ...args]);
}

/** Stops every process (SIGTERM, then SIGKILL after 3 s). */
export async function stopAll(procs) {
  for (const p of procs) p.stop();
  await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 3000))]);
  for (const p of procs) p.kill();
}

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `bytes` of random data to `path` in 4 MiB chunks. */
export async function randomFile(path, bytes) {
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(4 * MiB);
  try {
    for (let left = bytes; left > 0; left -= chunk.length) {
      randomFillSync(chunk);
      await fh.write(chunk, 0, Math.min(left, chunk.length));
    }
  } finally {
    await fh.close();
  }
}

/** Makes a .torrent with our `create` command; returns its magnet link. */
export async function createTorrent(path, out, pieceLength) {
  const p = new Proc('create', process.execPath, [CLI, 'create', path, '--out', out, '--force', '--json', ...(pieceLength ? ['--piece-length', pieceLength] : [])]);
  await p.exited;
  if (p.exitCode !== 0) throw new Error(`create failed (${p.exitCode}): ${p.stderr.join('\n')}`);
  return p.events.find((e) => e.magnet)?.magnet;
}

/** Simple `--name value` / `--flag` parser. */
export function flags(defaults) {
  const out = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in defaults)) continue;
    if (typeof defaults[k] === 'boolean') out[k] = true;
    else out[k] = typeof defaults[k] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  return out;
}

export function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export const fmt = (x, d = 2) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
export const median = (xs) => { const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined; };

/** Kills the whole benchmark if it runs past `ms` (every run must be bounded). */
export function overallBound(ms, procs) {
  const t = setTimeout(() => {
    process.stderr.write(`benchmark gave up after ${ms / 1000} s\n`);
    for (const p of procs) p.kill();
    process.exit(1);
  }, ms);
  t.unref();
}

/** The 1, 5 and 15 minute load averages, for the record (the machine is shared). */
export function loadAverage() {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}
