/** DHT constants, each with its reason and BEP section. */

/** BEP 5 "Routing Table": each bucket holds K = 8 nodes. Also how many nodes a find_node reply carries. */
export const K = 8;

/** Parallel queries in an iterative lookup. Kademlia's alpha is 3; a little more hides a slow node. */
export const DEFAULT_ALPHA = 4;

/** BEP 5: a node is good if it answered us (or queried us after having answered) within 15 minutes. */
export const GOOD_NODE_MS = 15 * 60_000;

/** BEP 5: a bucket not changed for 15 minutes is refreshed with a find_node for a random id in its range. */
export const BUCKET_REFRESH_MS = 15 * 60_000;

/** Failed queries in a row after which a node is bad and replaced at the first chance (libtorrent uses ~2-3). */
export const MAX_NODE_FAILURES = 2;

/** BEP 5 "Peers": token secrets change every 5 minutes; tokens up to 10 minutes old are accepted. */
export const TOKEN_ROTATE_MS = 5 * 60_000;

/** Bytes of the hashed token we hand out: enough against guessing, small in every datagram. */
export const TOKEN_LENGTH = 8;

/** How long an announced peer is kept (BEP 5 leaves it open; libtorrent and bittorrent-dht use 30 min). */
export const PEER_TTL_MS = 30 * 60_000;

/** Caps on the peer store: infohashes, and peers per infohash. Bounded memory under announce floods. */
export const MAX_STORED_INFOHASHES = 20_000;
export const MAX_PEERS_PER_INFOHASH = 500;
/**
 * Peers stored in total: the two caps above alone would allow 10 million. 200,000 entries cost roughly
 * 40 MB; past it the stalest infohash gives up its oldest peer.
 */
export const MAX_STORED_PEERS = 200_000;

/**
 * Bytes of `values` in one get_peers reply. Replies should stay well under a 1,500-byte MTU; with the
 * id, token and 8 nodes (~260 bytes) around them, 800 bytes of values is 100 IPv4 or 40 IPv6 peers.
 */
export const MAX_VALUES_BYTES = 800;

/** Overall deadline of one iterative lookup. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 30_000;

/**
 * A lookup query that has not answered after this long no longer holds one of the alpha slots and no
 * longer blocks the lookup's end (it may still answer). Keeps lookups fast when many nodes are dead.
 * This is the ceiling; once a lookup has seen a few answers it uses LOOKUP_SLOW_RTT_FACTOR times their
 * median round trip, but never less than LOOKUP_SLOW_MIN_MS (a node a little slower than the rest is
 * not dead).
 */
export const LOOKUP_SLOW_MS = 500;
export const LOOKUP_SLOW_MIN_MS = 250;
export const LOOKUP_SLOW_RTT_FACTOR = 4;
/** Answers a lookup waits for before it trusts its own round-trip estimate. */
export const LOOKUP_RTT_SAMPLES = 3;

/** Our KRPC `v`: "DN" (dht-node) and a two-byte version, as clients identify themselves (BEP 5 / BEP 20). */
export const CLIENT_VERSION = new Uint8Array([0x44, 0x4e, 0x00, 0x01]);

/** How often maintenance runs (refresh one stale bucket, ping one questionable node, expire peers). */
export const MAINTENANCE_INTERVAL_MS = 5_000;

/** Below this many good nodes the table counts as empty and we re-bootstrap (with back-off). */
export const MIN_HEALTHY_NODES = 4;

/** Concurrent pings to verify nodes that queried us before they may enter the table. */
export const MAX_VERIFY_PINGS = 64;
