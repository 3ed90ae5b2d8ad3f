/**
 * Hostile input at a running node over real UDP: 10,000 malformed, random and half-valid datagrams
 * (property-based, fixed seed). The node must never crash, must keep answering pings throughout, and every
 * structure that network input can grow must stay bounded.
 */
import { createSocket, type Socket } from 'node:dgram';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDht, type RunningDht } from '../../src/app/dht.js';
import { encode } from '../../src/codec/bencode.js';
import { decodeMessage } from '../../src/krpc/messages.js';
import { utf8 } from '../../src/util/bytes.js';

const DATAGRAMS = 10_000;
const PING_EVERY = 500;

/** Datagrams that are wrong in every way we can think of, from pure noise to nearly valid KRPC. */
function hostileDatagram(): fc.Arbitrary<Uint8Array> {
  const id = fc.uint8Array({ minLength: 0, maxLength: 24 });
  const field = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -1, max: 70000 }), fc.constant(new Uint8Array(20)));
  const nearlyValid = fc
    .record({
      t: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.integer()),
      y: fc.constantFrom('q', 'r', 'e', 'x'),
      q: fc.constantFrom('ping', 'find_node', 'get_peers', 'announce_peer', 'vote', ''),
      a: fc.record({ id, target: field, info_hash: field, port: field, token: field, implied_port: field }, { requiredKeys: [] }),
      r: fc.record({ id, nodes: fc.uint8Array({ maxLength: 300 }), values: fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 5 }) }, { requiredKeys: [] }),
    }, { requiredKeys: ['t'] })
    .map((m) => encode(m));
  const deep = fc.integer({ min: 50, max: 5000 }).map((n) => utf8('l'.repeat(n) + 'e'.repeat(n)));
  const hugeLength = fc.constantFrom(utf8('d1:t2:aa1:y1:q1:q4:ping1:ad2:id99999999:xee'), utf8('i123456789012345678901234567890e'));
  const noise = fc.uint8Array({ minLength: 0, maxLength: 1400 });
  const truncated = nearlyValid.chain((b) => fc.integer({ min: 0, max: Math.max(0, b.length - 1) }).map((n) => b.subarray(0, n)));
  return fc.oneof(nearlyValid, noise, truncated, deep, hugeLength);
}

describe('a running node under hostile datagrams', () => {
  let dht: RunningDht;
  let sock: Socket;

  beforeAll(async () => {
    dht = await startDht({ bind: '127.0.0.90', port: 0, bootstrap: [], allowLocal: true, rpc: { ipRateLimit: 0 } });
    sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.91', resolve));
  });

  afterAll(async () => {
    sock.close();
    await dht.close();
  });

  const ping = (seq: number): Promise<boolean> =>
    new Promise((resolve) => {
      const t = new Uint8Array([0xfe, seq & 0xff]);
      const onMessage = (msg: Buffer): void => {
        try {
          const m = decodeMessage(new Uint8Array(msg));
          if (m.kind === 'response' && m.t[0] === 0xfe && m.t[1] === (seq & 0xff)) finish(true);
        } catch {
          // replies to the junk (203s) are expected; only our ping's answer matters here
        }
      };
      const timer = setTimeout(() => finish(false), 2000);
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        sock.off('message', onMessage);
        resolve(ok);
      };
      sock.on('message', onMessage);
      sock.send(encode({ t, y: 'q', q: 'ping', a: { id: new Uint8Array(20).fill(7) } }), dht.transport.local.port, dht.transport.local.host);
    });

  it(`survives ${DATAGRAMS} of them and keeps answering`, async () => {
    const samples = fc.sample(hostileDatagram(), { seed: 1337, numRuns: DATAGRAMS });
    const rssBefore = process.memoryUsage().rss;
    let pingsAnswered = 0;
    for (let i = 0; i < samples.length; i++) {
      sock.send(samples[i]!, dht.transport.local.port, dht.transport.local.host);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
      if (i % PING_EVERY === PING_EVERY - 1) {
        if (await ping(i / PING_EVERY)) pingsAnswered++;
      }
    }
    expect(pingsAnswered).toBe(DATAGRAMS / PING_EVERY);

    const stats = dht.node.stats();
    const dropped = Object.values(stats.rpc.dropped).reduce((a, b) => a + b, 0);
    expect(dropped).toBeGreaterThan(DATAGRAMS / 4);
    expect(stats.rpc.errorsSent).toBeGreaterThan(0);
    // Bounded state: no transaction, verification or table growth beyond the caps.
    expect(dht.node.rpc.inFlight).toBeLessThanOrEqual(64);
    expect(stats.nodes).toBeLessThanOrEqual(8);
    expect(stats.storedPeers).toBe(0);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024);
  });
});
