/** The options, services and counters of a DhtNode (dht/node.ts), apart so the node file holds behaviour. */
import type { PeerAddress } from '../codec/compact.js';
import type { RpcOptions, RpcStats } from '../krpc/rpc.js';
import type { DatagramTransport } from '../krpc/transport.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Random } from '../util/random.js';
import type { NodeId } from './node-id.js';
import type { PeerStore, PeerStoreOptions } from './peer-store.js';
import type { Bep42Policy, RoutingTableStats } from './routing-table.js';
import type { TokenManager } from './tokens.js';

export interface DhtNodeDeps {
  clock: Clock;
  random: Random;
  transport: DatagramTransport;
  log?: Logger;
  /**
   * BEP 32: a node per address family shares one peer store and one token secret, so a peer announced
   * over IPv4 is found over IPv6 and a token is good whichever socket it came in on.
   */
  peerStore?: PeerStore;
  tokens?: TokenManager;
}

export interface DhtNodeOptions {
  /** Our node id; random when not given (state/ keeps it across restarts). */
  id?: NodeId;
  /** Where to start when the table is empty. */
  bootstrap?: readonly PeerAddress[];
  /** Accept loopback and private addresses (LAN use, tests on 127.0.0.x). */
  allowLocal?: boolean;
  k?: number;
  alpha?: number;
  /** BEP 43: do not ask others to add us to their tables (short-lived clients such as `lookup`). */
  readOnly?: boolean;
  /** BEP 42 policy for other nodes' ids in our table. */
  bep42?: Bep42Policy;
  /**
   * BEP 42 for our own id: once responders agree on our external IP and our id does not match it, take a
   * matching id (the table is rebuilt around it). Off for a node whose id must stay fixed.
   */
  deriveIdFromIp?: boolean;
  /** One routing-table entry per IP address (default true; tests on the single IPv6 loopback turn it off). */
  onePerIp?: boolean;
  rpc?: RpcOptions;
  peerStore?: PeerStoreOptions;
}

export interface LookupRequest {
  /** find_node when false, get_peers when true. */
  getPeers: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface DhtNodeStats {
  nodes: number;
  goodNodes: number;
  depth: number;
  storedInfoHashes: number;
  storedPeers: number;
  queriesReceived: Record<string, number>;
  announcesStored: number;
  announcesBadToken: number;
  announcesRefusedAddress: number;
  verifyPings: number;
  rpc: RpcStats;
  table: RoutingTableStats;
}
