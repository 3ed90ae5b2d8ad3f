/**
 * Composition root for a DHT node on a real UDP socket: the system clock, the OS random source, the socket
 * and the bootstrap list are built here and nowhere else.
 */
import type { CompactNodeInfo, PeerAddress } from '../codec/compact.js';
import { DhtNode, type DhtNodeOptions } from '../dht/node.js';
import { UdpTransport } from '../net/udp.js';
import { SystemClock, type Clock } from '../util/clock.js';
import { DhtNodeError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { SystemRandom, type Random } from '../util/random.js';
import { readDefaultBootstrapList, resolveBootstrap, type HostPortName } from './bootstrap-list.js';
import { attachDhtState, loadDhtState, type DhtPersistence } from './dht-state.js';
import type { StateReport } from '../state/state-store.js';

export interface StartDhtOptions extends Omit<DhtNodeOptions, 'bootstrap'> {
  /** Local address for the UDP socket. */
  bind: string;
  /** UDP port; 0 picks a free one. */
  port: number;
  /** Bootstrap hosts; undefined means the default list in bootstrap/nodes.txt. */
  bootstrap: readonly HostPortName[] | undefined;
  /** Keep the node id, routing contacts and peer store in `<dir>/<role>` (LevelDB). */
  state?: { dir: string; role: string; optional: boolean };
}

export interface RunningDht {
  node: DhtNode;
  transport: UdpTransport;
  clock: Clock;
  random: Random;
  bootstrap: PeerAddress[];
  /** Saved contacts from the last run, most recent first (empty without state). */
  savedContacts: CompactNodeInfo[];
  persistence: DhtPersistence | undefined;
  /** What loading the saved state found (skipped records, a rebuild), when there is state. */
  stateReport: StateReport | undefined;
  close(): Promise<void>;
}

export async function startDht(options: StartDhtOptions, log: Logger = silentLogger): Promise<RunningDht> {
  const clock = new SystemClock();
  const random = new SystemRandom();
  const list = options.bootstrap ?? (await readDefaultBootstrapList());
  const bootstrap = await resolveBootstrap(list, (host, err) => log.warn(`bootstrap host ${host} did not resolve`, { err: errorMessage(err) }));
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind(options.bind, options.port);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'EADDRINUSE' ? 'is in use (pick another with --dht-port)' : code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : errorMessage(err);
    throw new DhtNodeError('dht_bind', `cannot open UDP ${options.bind}:${options.port}: ${why}`, { cause: err });
  }
  let loaded;
  try {
    loaded = options.state ? await loadDhtState(options.state.dir, options.state.role, log, options.state.optional) : undefined;
  } catch (err) {
    await transport.close();
    throw err;
  }
  const { bind: _bind, port: _port, state: _state, ...nodeOptions } = options;
  const id = options.id ?? loaded?.nodeId;
  const node = new DhtNode({ clock, random, transport, log }, { ...nodeOptions, ...(id ? { id } : {}), bootstrap });
  const savedContacts = loaded?.contacts ?? [];
  node.addHints(savedContacts);
  const persistence = loaded ? await attachDhtState(node, loaded.store, clock, log) : undefined;
  return {
    node,
    transport,
    clock,
    random,
    bootstrap,
    savedContacts,
    persistence,
    stateReport: loaded?.store.loadReport(),
    async close() {
      node.close();
      try {
        await persistence?.close();
      } finally {
        await transport.close();
      }
    },
  };
}
