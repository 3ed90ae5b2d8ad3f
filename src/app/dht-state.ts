/**
 * Keeps a DHT node's state in LevelDB across restarts: the node id (our place in the keyspace), the
 * routing contacts (so a restarted node pings them and is routable again without the bootstrap routers)
 * and the peer store. Saved periodically and on close, each save replacing the last atomically. Times are
 * stored as wall-clock milliseconds, since the monotonic clock restarts with the process.
 */
import type { CompactNodeInfo } from '../codec/compact.js';
import type { DhtNode } from '../dht/node.js';
import { toNodeId, type NodeId } from '../dht/node-id.js';
import type { StateReport, StateStore } from '../state/state-store.js';
import { wallClockMs, type Clock, type TimerHandle } from '../util/clock.js';
import { errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** How often the routing table and peer store are saved while running. */
export const STATE_SAVE_INTERVAL_MS = 60_000;

export interface LoadedDhtState {
  store: StateStore;
  nodeId: NodeId | undefined;
  contacts: CompactNodeInfo[];
  report: StateReport;
}

/**
 * Opens `<stateDir>/<role>` and loads what a node needs at start. With `optional`, a store that another
 * process holds (two downloads at once) is skipped with a warning instead of failing the command.
 */
export async function loadDhtState(stateDir: string, role: string, log: Logger, optional: boolean): Promise<LoadedDhtState | undefined> {
  let store: StateStore;
  try {
    // LevelDB (a native addon and a dozen CommonJS modules) is loaded here rather than at start-up, so its
    // loading overlaps the socket binds that startDht runs beside this.
    const { openRoleStore } = await import('../state/level-store.js');
    store = await openRoleStore(stateDir, role, { log });
  } catch (err) {
    if (optional && errorCode(err) === 'state_locked') {
      log.warn(`state in ${stateDir} is in use by another process; running without it`);
      return undefined;
    }
    throw err;
  }
  const id = await store.getNodeId();
  const { entries, skipped } = await store.loadContacts();
  if (skipped > 0) log.warn(`skipped ${skipped} unreadable saved contacts`);
  // Most recently seen first: the likeliest to still be there.
  const contacts = entries
    .slice()
    .sort((a, b) => b.lastSeen - a.lastSeen)
    .map((c) => ({ id: c.id, host: c.host, port: c.port }));
  return { store, nodeId: id === undefined ? undefined : toNodeId(id), contacts, report: store.loadReport() };
}

export interface DhtPersistence {
  /** Saves the table and the peer store now. */
  flush(): Promise<void>;
  /** Stops periodic saves, saves a last time and closes the store. */
  close(): Promise<void>;
}

/** Loads saved peers into the nodes' shared peer store and starts periodic saves of every node's table. */
export async function attachDhtState(nodes: readonly DhtNode[], store: StateStore, clock: Clock, log: Logger): Promise<DhtPersistence> {
  const node = nodes[0] as DhtNode;
  await store.setNodeId(node.id);
  const loaded = await store.loadPeers(wallClockMs());
  const now = clock.now();
  const wall = wallClockMs();
  for (const p of loaded.entries) node.peers.add(p.infoHash, { host: p.host, port: p.port }, now, now + (p.expiresAt - wall));
  if (loaded.skipped > 0) log.warn(`skipped ${loaded.skipped} unreadable saved peers`);

  const flush = async (): Promise<void> => {
    await store.setNodeId(node.id); // BEP 42 may have given us a new one
    const mono = clock.now();
    const wallNow = wallClockMs();
    const contacts = nodes
      .flatMap((n) => n.table.all().filter((c) => n.table.state(c, mono) !== 'bad'))
      .map((c) => ({ id: c.id, host: c.host, port: c.port, lastSeen: wallNow - (mono - Math.max(c.lastResponse, c.lastQuery)) }));
    await store.saveContacts(contacts);
    const peers = [...node.peers.entries(mono)].map(({ infoHash, peer }) => ({ infoHash, host: peer.host, port: peer.port, expiresAt: wallNow + (peer.expiresAt - mono) }));
    await store.savePeers(peers);
  };

  let timer: TimerHandle | undefined;
  let closed = false;
  const loop = (): void => {
    timer = clock.setTimeout(() => {
      flush()
        .catch((err: unknown) => log.warn(`saving state failed: ${errorMessage(err)}`))
        .finally(() => {
          if (!closed) loop();
        });
    }, STATE_SAVE_INTERVAL_MS);
  };
  loop();
  return {
    flush,
    async close() {
      closed = true;
      if (timer) clock.clearTimeout(timer);
      try {
        await flush();
      } finally {
        await store.close();
      }
    },
  };
}
