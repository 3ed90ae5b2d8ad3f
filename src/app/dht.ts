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
  /** BEP 32: local IPv6 address for a second socket (`::` for all); undefined for none. */
  bind6?: string | undefined;
  /** UDP port; 0 picks a free one. */
  port: number;
  /** Bootstrap hosts; undefined means the default list in bootstrap/nodes.txt. */
  bootstrap: readonly HostPortName[] | undefined;
  /** Keep the node id, routing contacts and peer store in `<dir>/<role>` (LevelDB). */
  state?: { dir: string; role: string; optional: boolean };
}

export interface RunningDht {
  /** The IPv4 node. */
  node: DhtNode;
  /** The IPv6 node (BEP 32), when an IPv6 socket could be opened. */
  node6: DhtNode | undefined;
  /** Every node, IPv4 first: lookups and announces go through all of them. */
  nodes: DhtNode[];
  transport: UdpTransport;
  transport6: UdpTransport | undefined;
  clock: Clock;
  random: Random;
  bootstrap: PeerAddress[];
  /** Saved contacts from the last run, most recent first (empty without state). */
  savedContacts: CompactNodeInfo[];
  persistence: DhtPersistence | undefined;
  /** What loading the saved state found (skipped records, a rebuild), when there is state. */
  stateReport: StateReport | undefined;
  /**
   * Settles once the saved state is loaded and attached: at once from startDht, which loads it before it
   * returns; later from startSwarmDht, which does not wait for it. Rejects when the state cannot be opened.
   */
  stateReady: Promise<void>;
  close(): Promise<void>;
}

/** Binds a UDP socket, turning the usual failures into one clear line. */
async function bindUdp(host: string, port: number): Promise<UdpTransport> {
  try {
    return await UdpTransport.bind(host, port);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'EADDRINUSE' ? 'is in use (pick another with --dht-port)' : code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : errorMessage(err);
    throw new DhtNodeError('dht_bind', `cannot open UDP ${host}:${port}: ${why}`, { cause: err });
  }
}

/** Binds the IPv4 socket, then (BEP 32) the IPv6 one on the same port where possible. */
async function bindSockets(options: StartDhtOptions, log: Logger): Promise<{ transport: UdpTransport; transport6: UdpTransport | undefined }> {
  const transport = await bindUdp(options.bind, options.port);
  // Where the machine has no IPv6 (the bind fails), the node simply runs on IPv4 alone.
  let transport6: UdpTransport | undefined;
  if (options.bind6 !== undefined) {
    transport6 = await UdpTransport.bind(options.bind6, transport.local.port)
      .catch(() => UdpTransport.bind(options.bind6 as string, 0))
      .catch((err: unknown) => {
        log.debug('no IPv6 DHT socket', { err: errorMessage(err) });
        return undefined;
      });
  }
  return { transport, transport6 };
}

/** The bootstrap list (given, or the default file) resolved for each family we have a socket for. */
async function bootstrapAddresses(options: StartDhtOptions, log: Logger): Promise<{ v4: PeerAddress[]; v6: PeerAddress[] }> {
  const list = options.bootstrap ?? (await readDefaultBootstrapList());
  const skip = (host: string, err: unknown): void => log.debug(`bootstrap host ${host} did not resolve`, { err: errorMessage(err) });
  const [v4, v6] = await Promise.all([resolveBootstrap(list, 4, skip), options.bind6 === undefined ? [] : resolveBootstrap(list, 6, skip)]);
  if (v4.length === 0 && list.length > 0) log.warn('no bootstrap host resolved to an IPv4 address');
  return { v4, v6 };
}

export async function startDht(options: StartDhtOptions, log: Logger = silentLogger): Promise<RunningDht> {
  const clock = new SystemClock();
  const random = new SystemRandom();
  // Resolving the bootstrap list, binding the sockets and opening the saved state wait on different things
  // (DNS, the kernel, LevelDB's threads), so they run at once: a download's first query leaves sooner.
  const [addresses, sockets, state] = await Promise.allSettled([
    bootstrapAddresses(options, log),
    bindSockets(options, log),
    options.state ? loadDhtState(options.state.dir, options.state.role, log, options.state.optional) : Promise.resolve(undefined),
  ]);
  if (addresses.status === 'rejected' || sockets.status === 'rejected' || state.status === 'rejected') {
    if (sockets.status === 'fulfilled') {
      await sockets.value.transport.close();
      await sockets.value.transport6?.close();
    }
    if (state.status === 'fulfilled') await state.value?.store.close();
    // The first failure in the order the steps used to run: the bootstrap list, the socket, the state.
    throw addresses.status === 'rejected' ? addresses.reason : sockets.status === 'rejected' ? sockets.reason : (state as PromiseRejectedResult).reason;
  }
  const { v4: bootstrap, v6: bootstrap6 } = addresses.value;
  const { transport, transport6 } = sockets.value;
  const loaded = state.value;
  const { bind: _bind, bind6: _bind6, port: _port, state: _state, ...nodeOptions } = options;
  const id = options.id ?? loaded?.nodeId;
  const node = new DhtNode({ clock, random, transport, log }, { ...nodeOptions, ...(id ? { id } : {}), bootstrap });
  let node6: DhtNode | undefined;
  if (transport6) {
    // Same id, one peer store and one token secret for both families (BEP 32).
    node6 = new DhtNode({ clock, random, transport: transport6, log, peerStore: node.peers, tokens: node.tokenManager }, { ...nodeOptions, id: node.id, bootstrap: bootstrap6 });
    node.setSibling(node6);
    node6.setSibling(node);
  }
  const nodes = node6 ? [node, node6] : [node];
  const savedContacts = loaded?.contacts ?? [];
  for (const n of nodes) n.addHints(savedContacts);
  const persistence = loaded ? await attachDhtState(nodes, loaded.store, clock, log) : undefined;
  return {
    node,
    node6,
    nodes,
    transport,
    transport6,
    clock,
    random,
    bootstrap,
    savedContacts,
    persistence,
    stateReport: loaded?.store.loadReport(),
    stateReady: Promise.resolve(),
    async close() {
      for (const n of nodes) n.close();
      try {
        await persistence?.close();
      } finally {
        await transport.close();
        await transport6?.close();
      }
    },
  };
}
