/**
 * The two networks measured by dht-lookups.mjs, behind one shape, so the worker drives both the same way:
 *
 *   const net = await startNetwork(impl, { n, hostOf, waveSize, log });
 *   net.size, net.hostOf(i), net.alive(i), net.stores(i, hash)
 *   await net.announce(i, hash, port)          -> { ok }
 *   await net.lookup(i, hash, wanted, capMs)   -> { ms, firstPeerMs, found, datagrams, queries, unanswered, outcome }
 *   await net.kill(i); await net.closeAll()
 *
 * Queries per lookup are counted the same way for both: the get_peers query datagrams for the looked-up
 * infohash that the looking-up node's socket sent while the lookup ran (retries included). Both
 * implementations encode sorted bencode dicts, so such a datagram holds `1:q9:get_peers` and
 * `9:info_hash20:<hash>`. Our node's own count (summary.queries, retries excluded) is kept beside it.
 */
import { performance } from 'node:perf_hooks';

const GET_PEERS = Buffer.from('1:q9:get_peers', 'latin1');
const INFO_HASH_KEY = Buffer.from('9:info_hash20:', 'latin1');

/** Hex infohash of a get_peers query datagram, or null for anything else (responses, other queries). */
export function getPeersTarget(data) {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.indexOf(GET_PEERS) < 0) return null;
  const at = buf.indexOf(INFO_HASH_KEY);
  if (at < 0 || at + INFO_HASH_KEY.length + 20 > buf.length) return null;
  return buf.toString('hex', at + INFO_HASH_KEY.length, at + INFO_HASH_KEY.length + 20);
}

/** Counts sent get_peers datagrams per infohash (hex). */
function counter() {
  const counts = new Map();
  return {
    note(data) {
      const target = getPeersTarget(data);
      if (target) counts.set(target, (counts.get(target) ?? 0) + 1);
    },
    /** The same for a KRPC message object before encoding (bittorrent-dht's k-rpc-socket). */
    noteMessage(message) {
      const ih = message?.a?.info_hash;
      if (message?.y === 'q' && String(message.q) === 'get_peers' && Buffer.isBuffer(ih) && ih.length === 20) {
        const target = ih.toString('hex');
        counts.set(target, (counts.get(target) ?? 0) + 1);
      }
    },
    get: (hex) => counts.get(hex) ?? 0,
  };
}

/** Waits for `promise` at most `ms`; resolves with `fallback` after that. */
function bounded(promise, ms, fallback) {
  let timer;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}

/** Bound on one node's join (self-lookup plus range refreshes). */
const JOIN_TIMEOUT_MS = 30_000;

/**
 * A what-if for our lookups: the lookup core of dist/dht/lookup.js driven directly with another
 * `slowMs` (DhtNode.lookup always uses LOOKUP_SLOW_MS), seeded like DhtNode.lookup with the table's 8
 * closest, querying through DhtNode.queryNode so the table still learns from it.
 */
async function whatIfLookup(r, hash, capMs, slowMs) {
  const { lookup } = await import('../../dist/dht/lookup.js');
  const { node, clock } = r;
  const query = async (target, signal) => {
    const { response } = await node.queryNode(target, { method: 'get_peers', infoHash: hash }, signal, target.id);
    const b = response.body;
    return { id: b.id, nodes: b.nodes ?? [], values: b.values, token: b.token };
  };
  const notSelf = (c) => c.port !== 0 && !Buffer.from(c.id).equals(Buffer.from(node.id));
  return lookup({ clock, query }, { target: hash, seeds: node.table.closest(hash, 8, clock.now()), alpha: 4, k: 8, slowMs, timeoutMs: capMs, accept: notSelf });
}

async function startOurs({ n, hostOf, waveSize, log, slowMs }) {
  const { startDht } = await import('../../dist/app/dht.js');
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const bootstrap = i === 0 ? [] : [{ host: nodes[0].r.transport.local.host, port: nodes[0].r.transport.local.port }];
    const r = await startDht({ bind: hostOf(i), port: 0, bootstrap, allowLocal: true, rpc: { ipRateLimit: 0 } });
    const count = counter();
    const send = r.transport.send.bind(r.transport);
    r.transport.send = (data, to) => {
      count.note(data);
      send(data, to);
    };
    nodes.push({ r, count, alive: true });
  }
  log(`ours: ${n} sockets bound, joining in waves of ${waveSize}`);
  for (let i = 1; i < n; i += waveSize) {
    const wave = nodes.slice(i, i + waveSize);
    await Promise.all(wave.map((x) => bounded(x.r.node.bootstrap(), JOIN_TIMEOUT_MS, null).catch(() => null)));
    // Maintenance starts when a node has joined, so the nodes' 5-second ticks (and the range refreshes
    // a fresh table runs in its first minute) are spread as in a real network, not fired all at once.
    for (const x of wave) x.r.node.start();
    if ((i - 1) % (waveSize * 10) === 0) log(`ours: joined ${Math.min(i + waveSize, n)}/${n}`);
  }
  nodes[0].r.node.start();
  return {
    size: n,
    hostOf,
    alive: (i) => nodes[i].alive,
    tableSize: (i) => nodes[i].r.node.table.size,
    stores: (i, hash) => nodes[i].r.node.peers.get(hash, nodes[i].r.clock.now(), 1, nodes[i].r.random).length > 0,
    async announce(i, hash, port) {
      const { node } = nodes[i].r;
      let summary;
      for await (const e of node.lookup(hash, { getPeers: true })) if (e.type === 'done') summary = e.summary;
      const res = await node.announce(hash, summary.closest, port);
      return { ok: res.ok };
    },
    async lookup(i, hash, wanted, capMs) {
      const { node } = nodes[i].r;
      const hex = Buffer.from(hash).toString('hex');
      const before = nodes[i].count.get(hex);
      const t0 = performance.now();
      let firstPeerMs = null;
      let summary;
      const events = slowMs ? await whatIfLookup(nodes[i].r, hash, capMs, slowMs) : node.lookup(hash, { getPeers: true, timeoutMs: capMs });
      for await (const e of events) {
        if (e.type === 'peer' && firstPeerMs === null && wanted.has(`${e.peer.host}:${e.peer.port}`)) firstPeerMs = performance.now() - t0;
        if (e.type === 'done') summary = e.summary;
      }
      return {
        ms: performance.now() - t0,
        firstPeerMs,
        found: firstPeerMs !== null,
        datagrams: nodes[i].count.get(hex) - before,
        queries: summary.queries,
        unanswered: summary.unanswered,
        outcome: summary.outcome,
      };
    },
    async kill(i) {
      nodes[i].alive = false;
      await nodes[i].r.close();
    },
    async closeAll() {
      await Promise.all(nodes.filter((x) => x.alive).map((x) => x.r.close().catch(() => undefined)));
    },
  };
}

function listen(dht, host) {
  return new Promise((resolve, reject) => {
    dht.once('error', reject);
    dht.listen(0, host, () => {
      dht.off('error', reject);
      resolve(dht.address().port);
    });
  });
}

async function startBittorrentDht({ n, hostOf, waveSize, log }) {
  const { default: DHT } = await import('bittorrent-dht');
  const nodes = [];
  /** Creates and binds one node; bittorrent-dht starts its join on the next tick, after listen() was called. */
  const make = (i, bootstrap) => {
    const dht = new DHT({ bootstrap });
    dht.on('warning', () => {});
    dht.on('error', () => {});
    const ready = new Promise((resolve) => dht.once('ready', resolve));
    const listening = listen(dht, hostOf(i));
    const count = counter();
    // k-rpc-socket sends each message with one socket.send of its encoding; counted here, before
    // Node's dgram queues sends made while the socket is still binding (and replays them).
    const krpcSocket = dht._rpc.socket;
    const send = krpcSocket.send.bind(krpcSocket);
    krpcSocket.send = (peer, message, cb) => {
      count.noteMessage(message);
      return send(peer, message, cb);
    };
    const x = { dht, count, alive: true, ready, listening };
    nodes[i] = x;
    return x;
  };
  const first = make(0, false);
  const entry = `${hostOf(0)}:${await first.listening}`;
  log(`bittorrent-dht: first node on ${entry}, joining in waves of ${waveSize}`);
  for (let i = 1; i < n; i += waveSize) {
    const wave = [];
    for (let j = i; j < Math.min(i + waveSize, n); j++) wave.push(make(j, [entry]));
    await Promise.all(wave.map((x) => x.listening));
    await Promise.all(wave.map((x) => bounded(x.ready, JOIN_TIMEOUT_MS, null)));
    if ((i - 1) % (waveSize * 10) === 0) log(`bittorrent-dht: joined ${Math.min(i + waveSize, n)}/${n}`);
  }
  return {
    size: n,
    hostOf,
    alive: (i) => nodes[i].alive,
    tableSize: (i) => nodes[i].dht.nodes.count(),
    stores: (i, hash) => nodes[i].dht._peers.get(Buffer.from(hash).toString('hex'), 1).length > 0,
    announce(i, hash, port) {
      return new Promise((resolve) => nodes[i].dht.announce(Buffer.from(hash), port, (err) => resolve({ ok: err ? 0 : 1 })));
    },
    lookup(i, hash, wanted, capMs) {
      const { dht, count } = nodes[i];
      const buf = Buffer.from(hash);
      const hex = buf.toString('hex');
      const before = count.get(hex);
      const t0 = performance.now();
      let firstPeerMs = null;
      return new Promise((resolve) => {
        let timer;
        const onPeer = (peer, infoHash) => {
          if (firstPeerMs === null && infoHash.equals(buf) && wanted.has(`${peer.host}:${peer.port}`)) firstPeerMs = performance.now() - t0;
        };
        const finish = (outcome) => {
          clearTimeout(timer);
          dht.off('peer', onPeer);
          resolve({ ms: performance.now() - t0, firstPeerMs, found: firstPeerMs !== null, datagrams: count.get(hex) - before, queries: null, unanswered: null, outcome });
        };
        dht.on('peer', onPeer);
        const abort = dht.lookup(buf, (err) => finish(err ? 'error' : 'complete'));
        timer = setTimeout(() => {
          abort();
          finish('timeout');
        }, capMs);
      });
    },
    kill(i) {
      nodes[i].alive = false;
      return new Promise((resolve) => nodes[i].dht.destroy(() => resolve()));
    },
    async closeAll() {
      await Promise.all(nodes.filter((x) => x.alive).map((x) => bounded(new Promise((resolve) => x.dht.destroy(() => resolve())), 5_000, null)));
    },
  };
}

/** Starts `n` nodes of `impl` ('ours' or 'bittorrent-dht') on loopback, every node bootstrapping from the first. */
export function startNetwork(impl, options) {
  if (impl === 'ours') return startOurs(options);
  if (impl === 'bittorrent-dht') return startBittorrentDht(options);
  throw new Error(`unknown impl ${impl}`);
}
