/**
 * Our node against webtorrent's bittorrent-dht (npm), in one mixed network on loopback: eight
 * bittorrent-dht nodes and three of our `run` nodes. Proves that our KRPC messages (find_node, get_peers,
 * announce_peer, tokens, compact node and peer encodings) are understood by bittorrent-dht and that we
 * understand its replies, in both directions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { num, ProcessGroup, requireBittorrentDht, requireOurCommand, type JsonLineProcess } from '../support/processes.js';
import {
  ourLookup,
  ourLookupFinds,
  partnerFinds,
  partnerHasNodes,
  readyEndpoint,
  setupOrFail,
  startOurNodes,
  type Endpoint,
} from './network.js';

// This file's addresses: 127.0.20.0/24 bittorrent-dht, 127.0.21.0/24 ours.
const BT_BASE = '127.0.20.1';
const BT_COUNT = 8;
const OURS_PREFIX = '127.0.21.';
const OURS_RUN_COUNT = 3;
const OURS_LOOKUP_HOST = '127.0.21.50';
const OURS_ANNOUNCE_HOST = '127.0.21.51';
const IH_BY_BT = 'b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7';
const IH_BY_OURS = '0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a';
const IH_NOBODY = 'ffffffffffffffffffffffffffffffffffffffff';
const IH_BT_IMPLIED = 'b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8';
const IH_OURS_IMPLIED = '0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b';
const OURS_IMPLIED_HOST = '127.0.21.53';
const BT_ANNOUNCE_PORT = 6201;
const OUR_ANNOUNCE_PORT = 7201;

describe('interop with bittorrent-dht', () => {
  const group = new ProcessGroup();
  let bt: JsonLineProcess;
  let btFirst: Endpoint;

  const setupDone = setupOrFail(beforeAll, async () => {
    requireBittorrentDht();
    requireOurCommand('run');
    requireOurCommand('lookup');
    bt = group.bittorrentDht('bittorrent-dht x8', ['--bind', BT_BASE, '--count', String(BT_COUNT)]);
    btFirst = readyEndpoint(BT_BASE, await bt.ready());
    await startOurNodes(group, OURS_PREFIX, OURS_RUN_COUNT, [btFirst]);
    // bittorrent-dht's first node must have learnt of the others and of ours.
    await partnerHasNodes(bt, BT_COUNT - 1 + OURS_RUN_COUNT);
  });
  afterAll(async () => {
    await group.stopAll();
  });

  it('our lookup finds a peer that bittorrent-dht announced', async () => {
    setupDone();
    bt.send(`announce ${IH_BY_BT} ${BT_ANNOUNCE_PORT}`);
    await bt.waitFor((e) => e.event === 'announced' && e.infohash === IH_BY_BT, 30_000, 'announced');
    const r = await ourLookupFinds(group, { infohash: IH_BY_BT, bind: OURS_LOOKUP_HOST, bootstrap: [btFirst] }, {
      host: BT_BASE,
      port: BT_ANNOUNCE_PORT,
    });
    expect(r.peers).toContainEqual({ host: BT_BASE, port: BT_ANNOUNCE_PORT });
  });

  it('bittorrent-dht finds the peer our lookup --announce announced', async () => {
    setupDone();
    const r = await ourLookup(group, {
      infohash: IH_BY_OURS,
      bind: OURS_ANNOUNCE_HOST,
      bootstrap: [btFirst],
      announcePort: OUR_ANNOUNCE_PORT,
    });
    expect(r.exitCode).toBe(0);
    // Our node reports how many of the closest nodes accepted the announce (their write tokens were valid).
    expect(r.announced && num(r.announced, 'ok')).toBeGreaterThan(0);
    const peer = await partnerFinds(bt, IH_BY_OURS, { host: OURS_ANNOUNCE_HOST, port: OUR_ANNOUNCE_PORT });
    expect(peer.port).toBe(OUR_ANNOUNCE_PORT);
  });

  it('our lookup of an info-hash nobody announced ends with done and no peers, having queried nodes', async () => {
    setupDone();
    const r = await ourLookup(group, { infohash: IH_NOBODY, bind: '127.0.21.52', bootstrap: [btFirst] });
    expect(r.peers).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it('our lookup finds bittorrent-dht at its UDP port when it announces with implied_port (port 0)', async () => {
    setupDone();
    // BEP 5: with implied_port set, the announcing node's source port replaces the port argument.
    bt.send(`announce ${IH_BT_IMPLIED} 0`);
    await bt.waitFor((e) => e.event === 'announced' && e.infohash === IH_BT_IMPLIED, 30_000, 'announced');
    const expected = { host: BT_BASE, port: btFirst.port };
    const r = await ourLookupFinds(group, { infohash: IH_BT_IMPLIED, bind: '127.0.21.54', bootstrap: [btFirst] }, expected);
    expect(r.peers).toContainEqual(expected);
  });

  it('bittorrent-dht finds our lookup --announce without --port at our UDP port (implied_port)', async () => {
    setupDone();
    const r = await ourLookup(group, { infohash: IH_OURS_IMPLIED, bind: OURS_IMPLIED_HOST, bootstrap: [btFirst], announce: true });
    expect(r.exitCode).toBe(0);
    expect(r.announced && num(r.announced, 'ok')).toBeGreaterThan(0);
    const peer = await partnerFinds(bt, IH_OURS_IMPLIED, { host: OURS_IMPLIED_HOST, port: num(r.ready, 'dhtPort') });
    expect(peer.port).toBe(r.ready.dhtPort);
  });
});
