/**
 * Serving side of BEP 5, as pure functions of (query, sender, state, now): ping, find_node, get_peers and
 * announce_peer, plus libtorrent's courtesy of answering an unknown method that carries a target like
 * find_node. Unknown methods without one get 204.
 */
import { isAcceptableAddress } from '../codec/address.js';
import type { PeerAddress } from '../codec/compact.js';
import { KRPC_ERROR, type KrpcQuery } from '../krpc/messages.js';
import type { QueryReply } from '../krpc/rpc.js';
import type { Random } from '../util/random.js';
import { MAX_VALUES_BYTES } from './constants.js';
import type { NodeId } from './node-id.js';
import type { PeerStore } from './peer-store.js';
import type { Contact, RoutingTable } from './routing-table.js';
import type { TokenManager } from './tokens.js';

export interface HandlerContext {
  /** Mutable: BEP 42 may give us a new id and table at run time. */
  localId: NodeId;
  /** The table of this socket's address family. */
  table: RoutingTable;
  /** BEP 32: the other family's table, when we run a node on both (for `want`); read at each query. */
  sibling: () => RoutingTable | undefined;
  tokens: TokenManager;
  peers: PeerStore;
  random: Random;
  allowLocal: boolean;
  /** Counts announces stored and refused. */
  counters: { announcesStored: number; announcesBadToken: number; announcesRefusedAddress: number };
}

/** Most peers that fit in MAX_VALUES_BYTES: 8 bytes per IPv4 entry ("6:" + 6), 20 per IPv6 ("18:" + 18 ~ 21). */
function maxValuesFor(from: PeerAddress): number {
  return from.host.includes(':') ? Math.floor(MAX_VALUES_BYTES / 21) : Math.floor(MAX_VALUES_BYTES / 8);
}

/**
 * BEP 32: `nodes` (IPv4) and/or `nodes6` (IPv6) as the query's `want` asks; without `want`, the family
 * the query came in on.
 */
function nodesFor(
  ctx: HandlerContext,
  target: Uint8Array,
  want: { v4: boolean; v6: boolean } | undefined,
  from: PeerAddress,
  now: number,
): { nodes?: Contact[]; nodes6?: Contact[] } {
  const ownFamily: 4 | 6 = from.host.includes(':') ? 6 : 4;
  const wants = want && (want.v4 || want.v6) ? want : { v4: ownFamily === 4, v6: ownFamily === 6 };
  const tableFor = (family: 4 | 6): RoutingTable | undefined => (family === ownFamily ? ctx.table : ctx.sibling());
  const out: { nodes?: Contact[]; nodes6?: Contact[] } = {};
  const t4 = wants.v4 ? tableFor(4) : undefined;
  const t6 = wants.v6 ? tableFor(6) : undefined;
  if (wants.v4) out.nodes = t4 ? t4.closest(target, t4.k, now) : [];
  if (t6) out.nodes6 = t6.closest(target, t6.k, now);
  return out;
}

export function handleQuery(ctx: HandlerContext, query: KrpcQuery, from: PeerAddress, now: number): QueryReply {
  const id = ctx.localId;
  switch (query.method) {
    case 'ping':
      return { kind: 'response', fields: { id } };
    case 'find_node':
      return { kind: 'response', fields: { id, ...nodesFor(ctx, query.target, query.want, from, now) } };
    case 'get_peers': {
      const values = ctx.peers.get(query.infoHash, now, maxValuesFor(from), ctx.random);
      return {
        kind: 'response',
        fields: {
          id,
          token: ctx.tokens.issue(from.host, now),
          // Always nodes too: the asker may want to go on searching (BEP 5 allows both keys).
          ...nodesFor(ctx, query.infoHash, query.want, from, now),
          values: values.length > 0 ? values : undefined,
        },
      };
    }
    case 'announce_peer': {
      if (!ctx.tokens.verify(query.token, from.host, now)) {
        ctx.counters.announcesBadToken++;
        return { kind: 'error', code: KRPC_ERROR.protocol, message: 'bad token' };
      }
      // BEP 5: with implied_port the source port of the packet is the peer's port (for NATed uTP peers).
      const port = query.impliedPort ? from.port : query.port;
      if (!isAcceptableAddress(from.host, ctx.allowLocal)) {
        ctx.counters.announcesRefusedAddress++;
      } else {
        ctx.peers.add(query.infoHash, { host: from.host, port }, now);
        ctx.counters.announcesStored++;
      }
      return { kind: 'response', fields: { id } };
    }
    case 'unknown':
      if (query.target) return { kind: 'response', fields: { id, ...nodesFor(ctx, query.target, query.want, from, now) } };
      return { kind: 'error', code: KRPC_ERROR.methodUnknown, message: 'method unknown' };
  }
}
