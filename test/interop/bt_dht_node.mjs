#!/usr/bin/env node
/**
 * A bittorrent-dht (webtorrent's DHT, from npm) node driven over JSON lines, for the interop tests and the
 * load benchmark. Same protocol as lt_node.py (docs/interop.md):
 *
 *   node test/interop/bt_dht_node.mjs --bind 127.0.1.1 [--port 0] [--bootstrap HOST:PORT ...] [--count N]
 *
 * --count N starts N nodes in this one process, on --bind, --bind+1, ... (last octet incremented), so a
 * test network of many nodes costs one process. The first node takes the stdin commands; the others
 * bootstrap from the list and from the first node, and only take part in the network.
 *
 * stdout, one JSON object per line:
 *   {"event":"ready","impl":"bittorrent-dht","dhtPort":N,"nodeId":"hex","nodes":[{"host","port","nodeId"}]}
 *   {"event":"announcing","infohash":"hex","port":N}      then {"event":"announced",...,"nodes":N}
 *   {"event":"peer","infohash":"hex","host":"...","port":N}  each new peer of a lookup
 *   {"event":"lookup-done","infohash":"hex","nodes":N}
 *   {"event":"nodes","count":N}
 *   {"event":"error","code":"...","message":"..."}
 * stdin: `announce <infohash> <port>` (port 0 means implied_port), `get_peers <infohash>`, `nodes`, `quit`.
 * EOF on stdin exits.
 *
 * bittorrent-dht filters no addresses, so loopback needs no option; but it falls back to three public
 * routers when `bootstrap` is undefined, so we always pass an array (or false for none).
 */
import { createInterface } from 'node:readline';

/** Exit code for a missing partner, which the harness reports as a test failure. */
const EXIT_MISSING = 3;

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function parseArgs(argv) {
  const out = { bind: '', port: 0, bootstrap: [], count: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--bind') out.bind = value;
    else if (flag === '--port') out.port = Number(value);
    else if (flag === '--bootstrap') out.bootstrap.push(value);
    else if (flag === '--count') out.count = Number(value);
    else throw new Error(`unknown flag ${flag}`);
    i++;
  }
  if (!/^127\.\d+\.\d+\.\d+$/.test(out.bind)) throw new Error('--bind must be a 127.x.y.z address (loopback only)');
  for (const b of out.bootstrap) {
    if (!/^127\.\d+\.\d+\.\d+:\d+$/.test(b)) throw new Error(`--bootstrap ${b}: loopback host:port only`);
  }
  if (!Number.isInteger(out.count) || out.count < 1 || out.count > 250) throw new Error('--count must be 1..250');
  return out;
}

/** The n-th address after `ip`, in the last octet. */
function nthAddress(ip, n) {
  const parts = ip.split('.').map(Number);
  const last = (parts[3] ?? 0) + n;
  if (last > 254) throw new Error(`${ip} + ${n} leaves the /24`);
  return `${parts[0]}.${parts[1]}.${parts[2]}.${last}`;
}

function listen(dht, port, host) {
  return new Promise((resolve, reject) => {
    dht.once('error', reject);
    dht.listen(port, host, () => {
      dht.off('error', reject);
      resolve(dht.address().port);
    });
  });
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    emit({ event: 'error', code: 'BAD_USAGE', message: String(err.message) });
    process.exit(2);
  }
  let DHT;
  try {
    ({ default: DHT } = await import('bittorrent-dht'));
  } catch (err) {
    emit({
      event: 'error',
      code: 'BITTORRENT_DHT_MISSING',
      message: `npm bittorrent-dht is not resolvable (run npm ci): ${err.message}`,
    });
    process.exit(EXIT_MISSING);
  }

  const nodes = [];
  const first = new DHT({ bootstrap: args.bootstrap.length > 0 ? args.bootstrap : false });
  first.on('warning', () => {});
  const firstPort = await listen(first, args.port, args.bind);
  nodes.push({ dht: first, host: args.bind, port: firstPort });
  for (let i = 1; i < args.count; i++) {
    const host = nthAddress(args.bind, i);
    const dht = new DHT({ bootstrap: [...args.bootstrap, `${args.bind}:${firstPort}`] });
    dht.on('warning', () => {});
    const port = await listen(dht, 0, host);
    nodes.push({ dht, host, port });
  }
  emit({
    event: 'ready',
    impl: 'bittorrent-dht',
    dhtPort: firstPort,
    nodeId: first.nodeId.toString('hex'),
    // Read back from k-rpc (internal), so a test can check no public router is in it.
    bootstrap: first._rpc.bootstrap.map((b) => `${b.host}:${b.port}`),
    nodes: nodes.map((n) => ({ host: n.host, port: n.port, nodeId: n.dht.nodeId.toString('hex') })),
  });

  const seen = new Map(); // infohash hex -> Set of "host:port" already printed
  first.on('peer', (peer, infoHash) => {
    const ih = infoHash.toString('hex');
    let printed = seen.get(ih);
    if (!printed) seen.set(ih, (printed = new Set()));
    const key = `${peer.host}:${peer.port}`;
    if (printed.has(key)) return;
    printed.add(key);
    emit({ event: 'peer', infohash: ih, host: peer.host, port: peer.port });
  });

  const shutdown = () => {
    for (const n of nodes) n.dht.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  const rl = createInterface({ input: process.stdin });
  rl.on('close', shutdown);
  rl.on('line', (line) => {
    const [cmd, ih, portText] = line.trim().split(/\s+/);
    if (!cmd) return;
    if (cmd === 'quit') return shutdown();
    if (cmd === 'nodes') return emit({ event: 'nodes', count: first.toJSON().nodes.length });
    if ((cmd === 'announce' || cmd === 'get_peers') && ih && /^[0-9a-fA-F]{40}$/.test(ih)) {
      const infohash = ih.toLowerCase();
      if (cmd === 'get_peers') {
        first.lookup(infohash, (err, n) => {
          if (err) emit({ event: 'error', code: 'LOOKUP_FAILED', message: String(err.message) });
          else emit({ event: 'lookup-done', infohash, nodes: n });
        });
        return;
      }
      const port = Number(portText ?? 0);
      emit({ event: 'announcing', infohash, port });
      first.announce(infohash, port, (err, n) => {
        if (err) emit({ event: 'error', code: 'ANNOUNCE_FAILED', message: String(err.message) });
        else emit({ event: 'announced', infohash, port, nodes: n });
      });
      return;
    }
    emit({ event: 'error', code: 'BAD_COMMAND', message: line });
  });
}

main().catch((err) => {
  emit({ event: 'error', code: 'DRIVER_FAILED', message: String(err?.stack ?? err) });
  process.exit(1);
});
