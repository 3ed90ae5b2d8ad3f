/**
 * `npm start`: a self-contained trackerless swarm on loopback, made of our real CLI processes. A bootstrap
 * node, a few DHT nodes, a seeder of a freshly generated file and a downloader that is given nothing but
 * the magnet link: it finds the seeder through the DHT, fetches the metadata (BEP 9) and the data (BEP 3)
 * and checks the result byte for byte. Every step is printed with its timing; the whole demo is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep, SystemClock } from '../util/clock.js';
import { SystemRandom } from '../util/random.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/** Addresses in 127.0.0.0/8 only; a /16 of its own so the demo does not collide with tests. */
const NET = '127.99.0.';
const FILE_BYTES = 16 * 1024 * 1024;
const DHT_NODES = 6;
/** The whole demo gives up after this. */
const DEMO_TIMEOUT_MS = 90_000;

type JsonEvent = Record<string, unknown> & { event: string };

class Child {
  readonly events: JsonEvent[] = [];
  private waiters: Array<() => void> = [];
  private readonly stderr: string[] = [];

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as JsonEvent);
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      if (this.stderr.length < 50) this.stderr.push(line);
    });
    proc.on('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The first event named `name` (or an error event), waiting as long as needed. */
  async waitFor(name: string): Promise<JsonEvent> {
    for (;;) {
      const e = this.events.find((ev) => ev.event === name || ev.event === 'error');
      if (e?.event === 'error') throw new Error(`${this.name}: ${String(e.message)}`);
      if (e) return e;
      if (this.proc.exitCode !== null) throw new Error(`${this.name} exited (${this.proc.exitCode}) before "${name}"\n${this.stderr.join('\n')}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

function start(name: string, args: string[]): Child {
  return new Child(name, spawn(process.execPath, [CLI, ...args, '--json', '--allow-local'], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

async function main(): Promise<void> {
  const clock = new SystemClock();
  const t0 = clock.now();
  const at = (): string => `${((clock.now() - t0) / 1000).toFixed(2)} s`.padStart(8);
  const say = (line: string): void => void process.stdout.write(`[${at()}] ${line}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'dht-node-demo-'));
  const children: Child[] = [];
  const launch = (name: string, args: string[]): Child => {
    const c = start(name, [...args, '--state-dir', join(dir, 'state', name)]);
    children.push(c);
    return c;
  };
  const giveUp = clock.setTimeout(() => {
    process.stderr.write(`demo: gave up after ${DEMO_TIMEOUT_MS / 1000} s\n`);
    for (const c of children) c.stop();
    process.exit(1);
  }, DEMO_TIMEOUT_MS);

  try {
    say(`dht-node demo: a private, trackerless swarm on loopback (${NET}0/24), in ${dir}`);
    const data = new SystemRandom().bytes(FILE_BYTES);
    const seedDir = join(dir, 'seeder');
    await mkdir(seedDir, { recursive: true });
    await writeFile(join(seedDir, 'demo.bin'), data);
    const wantHash = createHash('sha1').update(data).digest('hex');
    say(`generated demo.bin: ${FILE_BYTES / 1048576} MiB of random data (sha1 ${wantHash.slice(0, 12)}...)`);

    const boot = launch('bootstrap', ['bootstrap', '--bind', `${NET}1`, '--port', '0', '--ping-delay', '1']);
    const bootPort = Number((await boot.waitFor('ready')).dhtPort);
    const bootstrap = `${NET}1:${bootPort}`;
    say(`bootstrap node up on UDP ${bootstrap} (pool of verified nodes, ping delay 1 s)`);

    // Each DHT node also knows the one before it, so they join at once rather than after verification.
    let previous = bootstrap;
    const runs: Child[] = [];
    for (let i = 0; i < DHT_NODES; i++) {
      const r = launch(`node${i + 1}`, ['run', '--bind', `${NET}${10 + i}`, '--port', '0', '--bootstrap', bootstrap, '--bootstrap', previous]);
      const port = Number((await r.waitFor('ready')).dhtPort);
      previous = `${NET}${10 + i}:${port}`;
      runs.push(r);
    }
    await Promise.all(runs.map((r) => r.waitFor('bootstrapped')));
    say(`${DHT_NODES} DHT nodes joined (dht-node run)`);

    const seeder = launch('seeder', ['seed', join(seedDir, 'demo.bin'), '--bind', `${NET}50`, '--port', '0', '--bootstrap', bootstrap, '--bootstrap', previous]);
    const seedReady = await seeder.waitFor('ready');
    const magnet = String(seedReady.magnet);
    say(`seeder verified its data and listens on TCP ${NET}50:${String(seedReady.tcpPort)}`);
    say(`magnet link: ${magnet}`);
    const announced = await seeder.waitFor('announced');
    say(`seeder announced itself on the DHT to ${String(announced.nodes)} nodes (no tracker anywhere)`);

    const outDir = join(dir, 'downloader');
    const started = clock.now();
    say(`downloader starts with the magnet link only: dht-node download '${magnet.slice(0, 40)}...'`);
    const leecher = launch('downloader', ['download', magnet, '--out', outDir, '--bind', `${NET}60`, '--port', '0', '--bootstrap', bootstrap, '--timeout', '60']);
    const meta = await leecher.waitFor('metadata');
    say(`  metadata (BEP 9) from ${String(meta.peers)} peer(s) found through the DHT: ${String(meta.name)}, ${String(meta.bytes)} bytes, after ${String(meta.ms)} ms`);
    const done = await leecher.waitFor('complete');
    say(`  every piece verified after ${String(done.ms)} ms (${((clock.now() - started) / 1000).toFixed(2)} s including process start)`);
    await new Promise<void>((resolve) => leecher.proc.on('exit', () => resolve()));
    const got = createHash('sha1').update(await readFile(join(outDir, 'demo.bin'))).digest('hex');
    if (got !== wantHash) throw new Error(`downloaded file differs (sha1 ${got})`);
    say(`downloaded file is byte-identical (sha1 ${got.slice(0, 12)}...)`);
    say('the same commands work on the real DHT: see README.md (dht-node lookup, run, bootstrap, seed, download)');
  } finally {
    clock.clearTimeout(giveUp);
    for (const c of children) c.stop();
    await sleep(clock, 300);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
