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
import type { RoutingTable } from './routing-table.js';
import type { TokenManager } from './tokens.js';

export interface HandlerContext {
  /** Mutable: BEP 42 may give us a new id and table at run time. */
  localId: NodeId;
  table: RoutingTable;
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

export function handleQuery(ctx: HandlerContext, query: KrpcQuery, from: PeerAddress, now: number): QueryReply {
  const id = ctx.localId;
  switch (query.method) {
    case 'ping':
      return { kind: 'response', fields: { id } };
    case 'find_node':
      return { kind: 'response', fields: { id, nodes: ctx.table.closest(query.target, ctx.table.k, now) } };
    case 'get_peers': {
      const values = ctx.peers.get(query.infoHash, now, maxValuesFor(from), ctx.random);
      return {
        kind: 'response',
        fields: {
          id,
          token: ctx.tokens.issue(from.host, now),
          // Always `nodes` too: the asker may want to go on searching (BEP 5 allows both keys).
          nodes: ctx.table.closest(query.infoHash, ctx.table.k, now),
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
      if (query.target) return { kind: 'response', fields: { id, nodes: ctx.table.closest(query.target, ctx.table.k, now) } };
      return { kind: 'error', code: KRPC_ERROR.methodUnknown, message: 'method unknown' };
  }
}
