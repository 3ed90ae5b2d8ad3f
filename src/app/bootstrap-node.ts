/**
 * Composition root of a bootstrap node on a real UDP socket. Its node id and pool live in LevelDB under
 * `<state-dir>/bootstrap`: loaded before the socket answers (a restarted node serves its pool at once),
 * saved every few minutes and on close.
 */
import { BootstrapServer, type BootstrapServerOptions } from '../dht/bootstrap-server.js';
import { toNodeId } from '../dht/node-id.js';
import { UdpTransport } from '../net/udp.js';
import { openRoleStore } from '../state/level-store.js';
import type { StateReport, StateStore } from '../state/state-store.js';
import { SystemClock, wallClockMs, type TimerHandle } from '../util/clock.js';
import { DhtNodeError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { SystemRandom } from '../util/random.js';

/** The pool changes slowly (entries wait 15 minutes to enter); saving it every 5 minutes loses little. */
export const POOL_SAVE_INTERVAL_MS = 5 * 60_000;

export interface RunningBootstrap {
  server: BootstrapServer;
  transport: UdpTransport;
  clock: SystemClock;
  stateReport: StateReport | undefined;
  /** Pool entries loaded from the state directory. */
  restored: number;
  close(): Promise<void>;
}

export interface StartBootstrapOptions extends BootstrapServerOptions {
  bind: string;
  port: number;
  /** The state directory; undefined keeps nothing. */
  stateDir: string | undefined;
}

async function savePool(store: StateStore, server: BootstrapServer): Promise<void> {
  const addedAt = wallClockMs();
  await store.savePool((function* () {
    for (const n of server.pool.entries()) yield { id: n.id, host: n.host, port: n.port, addedAt };
  })());
}

export async function startBootstrapNode(options: StartBootstrapOptions, log: Logger = silentLogger): Promise<RunningBootstrap> {
  const clock = new SystemClock();
  const random = new SystemRandom();
  const { bind, port, stateDir, ...serverOptions } = options;
  const store = stateDir === undefined ? undefined : await openRoleStore(stateDir, 'bootstrap', { log });
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind(bind, port);
  } catch (err) {
    await store?.close();
    throw new DhtNodeError('dht_bind', `cannot open UDP ${bind}:${port}: ${errorMessage(err)}`, { cause: err });
  }
  const savedId = await store?.getNodeId();
  const server = new BootstrapServer({ clock, random, transport }, { ...serverOptions, ...(savedId ? { id: toNodeId(savedId) } : {}) });
  let restored = 0;
  if (store) {
    await store.setNodeId(server.id);
    const { entries } = await store.loadPool();
    for (const e of entries) if (server.pool.add(e)) restored++;
  }
  server.start();
  let timer: TimerHandle | undefined;
  const loop = (): void => {
    timer = clock.setTimeout(() => {
      if (!store) return;
      savePool(store, server)
        .catch((err: unknown) => log.warn(`saving the pool failed: ${errorMessage(err)}`))
        .finally(loop);
    }, POOL_SAVE_INTERVAL_MS);
  };
  if (store) loop();
  return {
    server,
    transport,
    clock,
    stateReport: store?.loadReport(),
    restored,
    async close() {
      if (timer) clock.clearTimeout(timer);
      server.close();
      try {
        if (store) {
          await savePool(store, server);
          await store.close();
        }
      } finally {
        await transport.close();
      }
    },
  };
}
