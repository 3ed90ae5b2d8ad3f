/**
 * Child processes for the interop tests: our CLI and the partner drivers (test/interop/lt_node.py,
 * test/interop/bt_dht_node.mjs), all speaking JSON lines on stdout. Every wait is bounded and names what
 * it waited for; every process is killed on teardown.
 *
 * Real processes run on real time, so this file (like test/bench/) uses wall-clock timers; it is not
 * under src/ and not bound by the ambient-globals lint rule.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Our built CLI (`npm run build`; `npm run test:interop` builds first). */
export const CLI_PATH = `${REPO_ROOT}dist/cli/main.js`;
/** The interpreter that has python3-libtorrent on Debian (the pyenv `python3` on PATH does not). */
export const SYSTEM_PYTHON = process.env.INTEROP_PYTHON ?? '/usr/bin/python3';
export const LT_DRIVER = `${REPO_ROOT}test/interop/lt_node.py`;
export const BT_DRIVER = `${REPO_ROOT}test/interop/bt_dht_node.mjs`;

/** Lines of stderr kept per process for failure messages (a chatty child must not grow memory). */
const STDERR_TAIL_LINES = 40;
/** Events kept per process; a test looks at the few it waits for. */
const MAX_EVENTS = 10_000;
/** Grace between SIGTERM and SIGKILL on teardown. */
const KILL_GRACE_MS = 3_000;

/** One JSON line of a child's stdout. */
export interface JsonEvent {
  event: string;
  [key: string]: unknown;
}

/** How a child ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose stdout is JSON lines, with bounded waits on its events. */
export class JsonLineProcess {
  readonly events: JsonEvent[] = [];
  readonly exited: Promise<ExitStatus>;
  private readonly stderrTail: string[] = [];
  private readonly nonJson: string[] = [];
  private readonly waiters = new Set<() => void>();
  private exitStatus: ExitStatus | undefined;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    let buffered = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        this.onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    let errBuffered = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      errBuffered += chunk;
      const lines = errBuffered.split('\n');
      errBuffered = lines.pop() ?? '';
      for (const line of lines) this.keepTail(this.stderrTail, line);
    });
    // A child that exits early must not crash the runner with EPIPE on a later send().
    child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        this.notify();
        resolve(this.exitStatus);
      });
      child.on('error', (err) => {
        this.keepTail(this.stderrTail, `spawn error: ${err.message}`);
        this.exitStatus = { code: -1, signal: null };
        this.notify();
        resolve(this.exitStatus);
      });
    });
  }

  /** Starts `command args` with stdin, stdout and stderr piped. */
  static spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): JsonLineProcess {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new JsonLineProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The exit status once the child has exited. */
  get status(): ExitStatus | undefined {
    return this.exitStatus;
  }

  /** Writes one command line to the child's stdin. */
  send(line: string): void {
    if (this.exitStatus === undefined) this.child.stdin?.write(`${line}\n`);
  }

  /**
   * Resolves with the first event (already seen or yet to come) matching `pred`; rejects after
   * `timeoutMs`, or when the child exits first, with a message naming `what` and the child's last output.
   */
  async waitFor(pred: (e: JsonEvent) => boolean, timeoutMs: number, what: string): Promise<JsonEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (this.exitStatus !== undefined) {
        throw new Error(`${this.name} exited (${fmtStatus(this.exitStatus)}) before ${what}\n${this.describe()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.describe()}`);
      await this.nextChange(left);
    }
  }

  /** Waits for the `ready` event every listening command and driver prints. */
  async ready(timeoutMs = 30_000): Promise<JsonEvent> {
    const e = await this.waitFor((ev) => ev.event === 'ready' || ev.event === 'error', timeoutMs, 'a ready event');
    if (e.event === 'error') throw new Error(`${this.name} failed to start: ${JSON.stringify(e)}\n${this.describe()}`);
    return e;
  }

  /** Waits for the child to exit, at most `timeoutMs`, then kills it. */
  async waitExit(timeoutMs: number, what = 'exit'): Promise<ExitStatus> {
    const status = await Promise.race([this.exited, sleep(timeoutMs).then(() => undefined)]);
    if (status !== undefined) return status;
    await this.stop();
    throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.describe()}`);
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once the child is gone. */
  async stop(): Promise<ExitStatus> {
    if (this.exitStatus !== undefined) return this.exitStatus;
    this.child.stdin?.end();
    this.child.kill('SIGTERM');
    const status = await Promise.race([this.exited, sleep(KILL_GRACE_MS).then(() => undefined)]);
    if (status !== undefined) return status;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** The last events, non-JSON stdout and stderr lines, for failure messages. */
  describe(): string {
    const last = this.events.slice(-8).map((e) => JSON.stringify(e));
    return [
      `--- ${this.name} (pid ${this.child.pid ?? '?'}) last events:`,
      ...last,
      ...(this.nonJson.length > 0 ? ['--- non-JSON stdout:', ...this.nonJson] : []),
      '--- stderr tail:',
      ...this.stderrTail,
    ].join('\n');
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.keepTail(this.nonJson, line);
      return;
    }
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { event?: unknown }).event === 'string') {
      if (this.events.length < MAX_EVENTS) this.events.push(parsed as JsonEvent);
      this.notify();
    } else {
      this.keepTail(this.nonJson, line);
    }
  }

  private keepTail(tail: string[], line: string): void {
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  }

  private notify(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  private nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.add(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function fmtStatus(s: ExitStatus): string {
  return s.signal !== null ? `signal ${s.signal}` : `code ${s.code}`;
}

/** Every process a test started, stopped together in afterAll/afterEach. */
export class ProcessGroup {
  private readonly procs: JsonLineProcess[] = [];
  private readonly dirs: string[] = [];

  /** A fresh temporary folder, removed by stopAll (e.g. a `--state-dir` per CLI process). */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  spawn(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): JsonLineProcess {
    const p = JsonLineProcess.spawn(name, command, args, env);
    this.procs.push(p);
    return p;
  }

  /** Our CLI: `node dist/cli/main.js <args>`. */
  cli(name: string, args: string[]): JsonLineProcess {
    return this.spawn(name, process.execPath, [CLI_PATH, ...args]);
  }

  /** A libtorrent node (test/interop/lt_node.py). */
  libtorrent(name: string, args: string[]): JsonLineProcess {
    return this.spawn(name, SYSTEM_PYTHON, ['-u', LT_DRIVER, ...args]);
  }

  /** One or more bittorrent-dht nodes in one process (test/interop/bt_dht_node.mjs). */
  bittorrentDht(name: string, args: string[]): JsonLineProcess {
    return this.spawn(name, process.execPath, [BT_DRIVER, ...args]);
  }

  /** Failure context from every process of the group. */
  describe(): string {
    return this.procs.map((p) => p.describe()).join('\n');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    this.procs.length = 0;
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.length = 0;
  }
}

/**
 * Calls `attempt` until it returns a value other than undefined, at most until `timeoutMs` has passed
 * (an attempt already running is allowed to finish); throws naming `what` otherwise.
 */
export async function retryUntil<T>(
  what: string,
  timeoutMs: number,
  intervalMs: number,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let tries = 0;
  for (;;) {
    tries++;
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() + intervalMs > deadline) throw new Error(`${what}: not achieved after ${tries} tries in ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** Throws a clear error unless python3-libtorrent is importable by SYSTEM_PYTHON. Never skips. */
export function requireLibtorrent(): string {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import libtorrent as lt; print(lt.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `interop partner missing: python3-libtorrent is not importable by ${SYSTEM_PYTHON} ` +
        `(apt-get install -y python3-libtorrent; set INTEROP_PYTHON to another interpreter). ` +
        `${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  return r.stdout.trim();
}

/** Throws a clear error unless npm bittorrent-dht resolves from the repository. Never skips. */
export function requireBittorrentDht(): string {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "import('bittorrent-dht').then(() => console.log('ok'))"],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0 || r.stdout.trim() !== 'ok') {
    throw new Error(`interop partner missing: npm bittorrent-dht does not resolve (run npm ci). ${r.stderr.trim()}`);
  }
  return 'ok';
}

/** Throws a clear error unless our CLI is built and has `command`. */
export function requireOurCommand(command: string): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run npm run build`);
  const r = spawnSync(process.execPath, [CLI_PATH, command, '--help'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`our CLI has no working \`${command}\` command yet: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  }
}

/**
 * Names of network interfaces other than loopback. Inside the namespace .ci/run makes (`unshare -n`), this
 * is empty: the interop tests then cannot reach any network but loopback, whatever a partner's defaults are.
 */
export function nonLoopbackInterfaces(): string[] {
  return Object.entries(networkInterfaces())
    .filter(([, addrs]) => (addrs ?? []).some((a) => !a.internal))
    .map(([name]) => name);
}

/** A JSON event field as a string (throws if absent), for tests narrowing unknown event data. */
export function str(e: JsonEvent, key: string): string {
  const v = e[key];
  if (typeof v !== 'string') throw new Error(`event ${JSON.stringify(e)} has no string ${key}`);
  return v;
}

/** A JSON event field as a number (throws if absent). */
export function num(e: JsonEvent, key: string): number {
  const v = e[key];
  if (typeof v !== 'number') throw new Error(`event ${JSON.stringify(e)} has no number ${key}`);
  return v;
}
