/**
 * MSE/PE interop with libtorrent 2.0: a libtorrent leecher whose first connection is encrypted downloads
 * from our seeder, which answers MSE (src/net/mse-stream.ts). Our seeder runs in this process (a
 * TorrentSession on memory storage behind listenTcp with `encryption` set), so the test does not depend on
 * how src/app wires the option. DHT off; libtorrent is told our address.
 *
 * - libtorrent's default policy (offers plaintext and RC4): we select plaintext, one connection suffices
 *   (before MSE support it was refused, and libtorrent retried in plaintext after a delay);
 * - `--enc forced` (libtorrent refuses plaintext handshakes): still one connection, MSE then plaintext;
 * - a leecher that allows RC4 only (allowed_enc_level = pe_rc4): we select RC4 and the data comes through
 *   the cipher, byte-identical.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dialTcp, listenTcp, type TcpListener } from '../../src/net/tcp.js';
import type { InboundEncryption } from '../../src/net/mse-stream.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { TorrentSession } from '../../src/swarm/torrent-session.js';
import { SystemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { SystemRandom } from '../../src/util/random.js';
import { num, ProcessGroup, requireLibtorrent, str, SYSTEM_PYTHON, type JsonLineProcess } from '../support/processes.js';
import { makeTorrent } from '../support/torrent-fixture.js';
import { expectSameFile, libtorrentDownload, PARTNER_DOWNLOAD_MS, setupOrFail, type Endpoint } from './network.js';

// This file's addresses: 127.0.70.0/24 libtorrent, 127.0.71.0/24 ours.
const LT_DEFAULT_HOST = '127.0.70.1';
const LT_FORCED_HOST = '127.0.70.2';
const LT_RC4_HOST = '127.0.70.3';
const OURS_HOST = '127.0.71.1';
/** 3 MiB and a bit in 64 KiB pieces, the last one short: enough to cross the cipher many times. */
const DATA_BYTES = 3 * 1024 * 1024 + 4321;
const PIECE_LENGTH = 64 * 1024;

/**
 * A libtorrent leecher that allows only RC4 after the handshake (lt_node.py has no switch for
 * allowed_enc_level): TCP only (uTP off, as we have none), adds the .torrent, connects to the peer, prints
 * JSON lines like lt_node.py (other alerts as {"event":"alert"} for failure context).
 */
const RC4_LEECHER = `
import json, sys, time, libtorrent as lt
torrent, save, bind, host, port = sys.argv[1:6]
def out(**e):
    sys.stdout.write(json.dumps(e) + "\\n"); sys.stdout.flush()
s = lt.session({"listen_interfaces": bind + ":0", "enable_dht": False, "enable_lsd": False, "enable_upnp": False,
    "enable_natpmp": False, "enable_outgoing_utp": False, "enable_incoming_utp": False, "out_enc_policy": lt.enc_policy.forced, "in_enc_policy": lt.enc_policy.forced,
    "allowed_enc_level": lt.enc_level.rc4, "prefer_rc4": True, "outgoing_interfaces": bind, "allow_multiple_connections_per_ip": True,
    "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification})
ti = lt.torrent_info(torrent)
h = s.add_torrent({"ti": ti, "save_path": save})
out(event="ready", impl="libtorrent", tcpPort=s.listen_port())
started = time.time()
h.connect_peer((host, int(port)))
while True:
    st = h.status()
    if st.is_seeding:
        out(event="complete", infohash=str(ti.info_hash()), bytes=ti.total_size(), ms=int((time.time() - started) * 1000)); break
    if st.num_peers == 0 and time.time() - started > 2:
        h.connect_peer((host, int(port)))
    for a in s.pop_alerts():
        if isinstance(a, lt.peer_disconnected_alert):
            out(event="peer_closed", reason=a.message())
        elif isinstance(a, lt.peer_connect_alert):
            out(event="peer_connected")
        else:
            out(event="alert", message=a.message())
    time.sleep(0.1)
`;

describe('MSE interop with libtorrent', () => {
  const group = new ProcessGroup();
  let scratch = '';
  const fixture = makeTorrent({ files: [{ path: ['mse.bin'], length: DATA_BYTES }], pieceLength: PIECE_LENGTH, seed: 70 });
  let torrentPath = '';
  let dataPath = '';

  const setupDone = setupOrFail(beforeAll, async () => {
    requireLibtorrent();
    scratch = mkdtempSync(join(tmpdir(), 'interop-mse-'));
    torrentPath = join(scratch, 'mse.torrent');
    dataPath = join(scratch, 'mse.bin');
    writeFileSync(torrentPath, fixture.torrent);
    writeFileSync(dataPath, fixture.content);
  });

  let seeder: { session: TorrentSession; listener: TcpListener; accepted: InboundEncryption[]; refused: string[]; at: Endpoint } | undefined;
  afterEach(async () => {
    await group.stopAll();
    await seeder?.listener.close();
    await seeder?.session.close();
    seeder = undefined;
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Our seeder: session on memory storage, listener answering MSE for the fixture's infohash. */
  const startSeeder = async () => {
    const clock = new SystemClock();
    const info = fixture.metainfo;
    const storage = new MemoryStorage({}, { layout: info, content: fixture.content });
    const session = new TorrentSession(
      { clock, random: new SystemRandom(), log: silentLogger, storage, dial: (ep, signal) => dialTcp({ clock }, { ...ep, signal }) },
      { info },
    );
    await session.start();
    expect(session.isComplete()).toBe(true);
    const accepted: InboundEncryption[] = [];
    const refused: string[] = [];
    const listener = await listenTcp(
      {
        host: OURS_HOST,
        port: 0,
        encryption: {
          clock,
          random: new SystemRandom(),
          infohashes: () => [info.infoHash],
          onAccepted: (e) => accepted.push(e),
          onRefused: (err) => refused.push(err.code),
        },
      },
      (stream, remote) => session.acceptInbound(stream, remote),
    );
    seeder = { session, listener, accepted, refused, at: { host: OURS_HOST, port: listener.port } };
    return seeder;
  };

  const expectDownloaded = (complete: { bytes: number; infohash: string }, savePath: string): void => {
    expect(complete.infohash).toBe(Buffer.from(fixture.metainfo.infoHash).toString('hex'));
    expect(complete.bytes).toBe(DATA_BYTES);
    expectSameFile(join(savePath, 'mse.bin'), dataPath);
  };

  for (const [name, host, extra] of [
    ['default policy (MSE first, plaintext or RC4 offered)', LT_DEFAULT_HOST, []],
    ['encryption forced', LT_FORCED_HOST, ['--enc', 'forced']],
  ] as const) {
    it(`a libtorrent leecher with its ${name} downloads from us on its first connection, byte-identical`, async () => {
      setupDone();
      const s = await startSeeder();
      const savePath = join(scratch, `lt-${host}`);
      mkdirSync(savePath);
      const r = await libtorrentDownload(group, { source: torrentPath, bind: host, savePath, peers: [s.at], extra: ['--no-dht', ...extra] });
      expectDownloaded({ bytes: num(r.complete, 'bytes'), infohash: str(r.complete, 'infohash') }, savePath);
      // It opened with MSE and offered plaintext, which we chose; no refused first attempt, no retry.
      expect(s.accepted).toEqual(['mse-plaintext']);
      expect(s.refused).toEqual([]);
      expect(r.proc.events.filter((e) => e.event === 'peer_connected')).toHaveLength(1);
      expect(s.session.stats().uploaded).toBeGreaterThanOrEqual(DATA_BYTES);
    });
  }

  it('a libtorrent leecher that allows RC4 only downloads through the cipher, byte-identical', async () => {
    setupDone();
    const s = await startSeeder();
    const savePath = join(scratch, 'lt-rc4');
    mkdirSync(savePath);
    const proc: JsonLineProcess = group.spawn(`libtorrent rc4 leecher ${LT_RC4_HOST}`, SYSTEM_PYTHON, [
      '-u', '-c', RC4_LEECHER, torrentPath, savePath, LT_RC4_HOST, s.at.host, String(s.at.port),
    ]);
    await proc.ready();
    const complete = await proc.waitFor((e) => e.event === 'complete', PARTNER_DOWNLOAD_MS, 'a complete event');
    expectDownloaded({ bytes: num(complete, 'bytes'), infohash: str(complete, 'infohash') }, savePath);
    expect(s.accepted).toEqual(['mse-rc4']);
    expect(s.refused).toEqual([]);
    expect(proc.events.filter((e) => e.event === 'peer_connected')).toHaveLength(1);
  });
});
