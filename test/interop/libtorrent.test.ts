/**
 * Our node against libtorrent 2.0 (python3-libtorrent: the DHT of qBittorrent, Deluge and many others),
 * in one mixed network on loopback: six libtorrent nodes and three of our `run` nodes. Proves that
 * libtorrent accepts our KRPC (find_node, get_peers, tokens, announce_peer, compact encodings) and that we
 * accept its replies, in both directions. libtorrent is the stricter partner: it verifies write tokens,
 * drops malformed messages silently, and announces with implied_port set (here its UDP source port and its
 * port argument are the same number, so bittorrent-dht.test.ts is where implied_port is really tested).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { num, ProcessGroup, requireLibtorrent, requireOurCommand, str, type JsonLineProcess } from '../support/processes.js';
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

// This file's addresses: 127.0.30.0/24 libtorrent, 127.0.31.0/24 ours.
const LT_HOSTS = ['127.0.30.1', '127.0.30.2', '127.0.30.3', '127.0.30.4', '127.0.30.5', '127.0.30.6'];
const OURS_PREFIX = '127.0.31.';
const OURS_RUN_COUNT = 3;
const OURS_LOOKUP_HOST = '127.0.31.50';
const OURS_ANNOUNCE_HOST = '127.0.31.51';
const IH_BY_LT = 'c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3';
const IH_BY_OURS = '3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c';
const OUR_ANNOUNCE_PORT = 7301;
const LT_SEEDER_HOST = '127.0.30.20';
const OURS_SEED_LOOKUP_HOST = '127.0.31.52';
/** Size of the seeded file: a few pieces, written with a fixed pattern so the info-hash never changes. */
const SEED_BYTES = 200_000;

describe('interop with libtorrent', () => {
  const group = new ProcessGroup();
  const lts: Array<{ proc: JsonLineProcess; at: Endpoint }> = [];

  const lt = (i: number): { proc: JsonLineProcess; at: Endpoint } => {
    const n = lts[i];
    if (!n) throw new Error(`no libtorrent node ${i}`);
    return n;
  };

  const setupDone = setupOrFail(beforeAll, async () => {
    requireLibtorrent();
    requireOurCommand('run');
    requireOurCommand('lookup');
    // The first libtorrent node bootstraps nobody; the rest bootstrap from it.
    for (const host of LT_HOSTS) {
      const bootstrap = lts.length > 0 ? ['--bootstrap', `${lt(0).at.host}:${lt(0).at.port}`] : [];
      const proc = group.libtorrent(`libtorrent ${host}`, ['--bind', host, ...bootstrap]);
      lts.push({ proc, at: readyEndpoint(host, await proc.ready()) });
    }
    await startOurNodes(group, OURS_PREFIX, OURS_RUN_COUNT, [lt(0).at]);
    // libtorrent only counts nodes that answered it; wait until the first one knows most of the network.
    await partnerHasNodes(lt(0).proc, LT_HOSTS.length - 1);
  });
  let scratch = '';
  afterAll(async () => {
    await group.stopAll();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('our lookup finds a peer that libtorrent announced', async () => {
    setupDone();
    const announcer = lt(1);
    announcer.proc.send(`announce ${IH_BY_LT}`);
    const announcing = await announcer.proc.waitFor((e) => e.event === 'announcing', 5_000, 'announcing');
    const expected = { host: announcer.at.host, port: num(announcing, 'port') };
    const r = await ourLookupFinds(group, { infohash: IH_BY_LT, bind: OURS_LOOKUP_HOST, bootstrap: [lt(0).at] }, expected);
    expect(r.peers).toContainEqual(expected);
  });

  it('libtorrent finds the peer our lookup --announce announced', async () => {
    setupDone();
    const r = await ourLookup(group, {
      infohash: IH_BY_OURS,
      bind: OURS_ANNOUNCE_HOST,
      bootstrap: [lt(0).at],
      announcePort: OUR_ANNOUNCE_PORT,
    });
    expect(r.exitCode).toBe(0);
    // Our node reports how many of the closest nodes accepted the announce (their write tokens were valid).
    expect(r.announced && num(r.announced, 'ok')).toBeGreaterThan(0);
    const peer = await partnerFinds(lt(4).proc, IH_BY_OURS, { host: OURS_ANNOUNCE_HOST, port: OUR_ANNOUNCE_PORT });
    expect(peer.port).toBe(OUR_ANNOUNCE_PORT);
  });

  it('libtorrent keeps our run nodes in its routing table (they answer its queries)', async () => {
    setupDone();
    // Six libtorrent nodes plus our three: once ours answer, the first node counts more than the other five.
    const count = await partnerHasNodes(lt(0).proc, LT_HOSTS.length - 1 + OURS_RUN_COUNT, 60_000);
    expect(count).toBeGreaterThanOrEqual(LT_HOSTS.length - 1 + OURS_RUN_COUNT);
  });

  it('our lookup finds libtorrent seeding a real torrent (the announce libtorrent makes by itself)', async () => {
    setupDone();
    scratch = mkdtempSync(join(tmpdir(), 'interop-lt-seed-'));
    const file = join(scratch, 'pattern.bin');
    writeFileSync(file, Buffer.from(Array.from({ length: SEED_BYTES }, (_, i) => (i * 31) & 0xff)));
    const seeder = group.libtorrent(`libtorrent seeder ${LT_SEEDER_HOST}`, [
      '--bind', LT_SEEDER_HOST, '--bootstrap', `${lt(0).at.host}:${lt(0).at.port}`, '--seed', file,
    ]);
    await seeder.ready();
    const seeding = await seeder.waitFor((e) => e.event === 'seeding', 30_000, 'seeding');
    const infohash = str(seeding, 'infohash');
    expect(str(seeding, 'magnet')).toContain(`xt=urn:btih:${infohash}`);
    const expected = { host: LT_SEEDER_HOST, port: num(seeding, 'tcpPort') };
    const r = await ourLookupFinds(group, { infohash, bind: OURS_SEED_LOOKUP_HOST, bootstrap: [lt(0).at] }, expected);
    expect(r.peers).toContainEqual(expected);
  });
});
