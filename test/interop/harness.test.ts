/**
 * The harness itself: the two partner drivers find each other's announces on loopback. If this fails, the
 * libtorrent or bittorrent-dht settings (docs/interop.md) are wrong, not our node. It also checks that the
 * run is isolated when .ci/run asks for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  nonLoopbackInterfaces,
  ProcessGroup,
  requireBittorrentDht,
  requireLibtorrent,
  str,
  type JsonLineProcess,
} from '../support/processes.js';
import { partnerFinds, partnerHasNodes, readyEndpoint, setupOrFail, type Endpoint } from './network.js';

// This file's addresses: 127.0.10.0/24 (bittorrent-dht) and 127.0.11.0/24 (libtorrent).
const BT_BASE = '127.0.10.1';
const BT_COUNT = 6;
const LT_HOSTS = ['127.0.11.1', '127.0.11.2', '127.0.11.3'];
// Fixed info-hashes: one announced by each partner.
const IH_BY_BT = '1111111111111111111111111111111111111111';
const IH_BY_LT = '2222222222222222222222222222222222222222';
const BT_ANNOUNCE_PORT = 6101;

describe('isolation', () => {
  const group = new ProcessGroup();
  afterAll(async () => {
    await group.stopAll();
  });

  it('partners started without a bootstrap list know no bootstrap node (their public defaults are replaced)', async () => {
    requireBittorrentDht();
    requireLibtorrent();
    const lt = group.libtorrent('libtorrent alone', ['--bind', '127.0.11.200']);
    const bt = group.bittorrentDht('bittorrent-dht alone', ['--bind', '127.0.10.200']);
    expect((await lt.ready()).bootstrapNodes).toBe('');
    expect((await bt.ready()).bootstrap).toEqual([]);
    const withList = group.libtorrent('libtorrent with list', ['--bind', '127.0.11.201', '--bootstrap', '127.0.11.200:1']);
    expect((await withList.ready()).bootstrapNodes).toBe('127.0.11.200:1');
  });

  // .ci/run sets INTEROP_REQUIRE_NETNS=1 and runs the suite under `unshare --net` (docs/interop.md). A
  // developer's plain `npm run test:interop` has other interfaces, so the check exists only when asked for.
  if (process.env.INTEROP_REQUIRE_NETNS === '1') {
    it('runs in a network namespace whose only interface is loopback', () => {
      expect(nonLoopbackInterfaces()).toEqual([]);
    });
  }
});

describe('partners find each other (harness check)', () => {
  const group = new ProcessGroup();
  let bt: JsonLineProcess;
  let lts: JsonLineProcess[] = [];
  let btFirst: Endpoint;

  const setupDone = setupOrFail(beforeAll, async () => {
    requireBittorrentDht();
    requireLibtorrent();
    bt = group.bittorrentDht('bittorrent-dht x6', ['--bind', BT_BASE, '--count', String(BT_COUNT)]);
    btFirst = readyEndpoint(BT_BASE, await bt.ready());
    lts = LT_HOSTS.map((h) => group.libtorrent(`libtorrent ${h}`, ['--bind', h, '--bootstrap', `${btFirst.host}:${btFirst.port}`]));
    for (const lt of lts) expect(str(await lt.ready(), 'impl')).toBe('libtorrent');
    await partnerHasNodes(bt, BT_COUNT - 1 + LT_HOSTS.length);
  });
  afterAll(async () => {
    await group.stopAll();
  });

  it('libtorrent finds a peer announced by bittorrent-dht', async () => {
    setupDone();
    bt.send(`announce ${IH_BY_BT} ${BT_ANNOUNCE_PORT}`);
    await bt.waitFor((e) => e.event === 'announced' && e.infohash === IH_BY_BT, 30_000, 'announced');
    const lt = lts[2];
    if (!lt) throw new Error('no libtorrent node');
    const peer = await partnerFinds(lt, IH_BY_BT, { host: BT_BASE, port: BT_ANNOUNCE_PORT });
    expect(peer.host).toBe(BT_BASE);
  });

  it('bittorrent-dht finds a peer announced by libtorrent (implied_port: its listen port)', async () => {
    setupDone();
    const lt = lts[1];
    const host = LT_HOSTS[1];
    if (!lt || !host) throw new Error('no libtorrent node');
    lt.send(`announce ${IH_BY_LT}`);
    const announcing = await lt.waitFor((e) => e.event === 'announcing', 5_000, 'announcing');
    const peer = await partnerFinds(bt, IH_BY_LT, { host, port: Number(announcing.port) });
    expect(peer.port).toBe(announcing.port);
  });
});
