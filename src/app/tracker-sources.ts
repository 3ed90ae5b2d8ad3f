/**
 * HTTP trackers as peer sources (BEP 3 / BEP 23), beside the DHT: for the metadata phase of a magnet
 * download (we announce as a leecher with everything left) and for a running swarm (real totals, and
 * `completed` once). Tracker errors are counted and logged by the tracker session, never thrown: a download
 * the DHT can serve must not stop because a tracker is down. Peers from trackers pass the same address
 * policy as the DHT's (no unroutable addresses; local ones only with --allow-local).
 */
import { isAcceptableAddress } from '../codec/address.js';
import type { PeerAddress } from '../codec/compact.js';
import { TrackerPeerSource } from '../discovery/peer-source.js';
import { httpGetFrom } from '../tracker/http-get.js';
import { SystemClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { SystemRandom } from '../util/random.js';
import type { PeerSourceStarter, SwarmHandle } from './download.js';

/** Trackers from every place they can come from, deduplicated, in order. */
export function collectTrackers(...lists: readonly (readonly string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((l) => l ?? []).map((t) => t.trim()).filter((t) => t !== ''))];
}

function filtered(onPeer: (p: PeerAddress) => void, allowLocal: boolean): (p: PeerAddress) => void {
  return (p) => {
    if (p.port > 0 && isAcceptableAddress(p.host, allowLocal)) onPeer(p);
  };
}

function trackerDeps(log: Logger, bind: string | undefined) {
  return { clock: new SystemClock(), random: new SystemRandom(), log, httpGet: httpGetFrom(bind) };
}

/**
 * For the metadata phase: announce `started` with an unknown size (left = 1, so trackers count us as a
 * leecher) and hand every peer to `onPeer`. Returns the stop function.
 */
export function trackerMetadataSource(
  trackers: readonly string[],
  infoHash: Uint8Array,
  peerId: Uint8Array,
  port: number,
  allowLocal: boolean,
  bind: string | undefined,
  log: Logger,
): (onPeer: (p: PeerAddress) => void) => () => void {
  return (onPeer) => {
    const source = new TrackerPeerSource(trackerDeps(log, bind), {
      infoHash,
      peerId,
      port,
      trackers: [...trackers],
      totals: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    });
    source.start(filtered(onPeer, allowLocal));
    return () => void source.stop();
  };
}

/** For a running swarm: real totals, `completed` when every piece is verified, `stopped` on close. */
export function trackerSwarmSource(trackers: readonly string[], allowLocal: boolean, bind: string | undefined, log: Logger): PeerSourceStarter {
  return (handle: SwarmHandle) => {
    const s = handle.session;
    const source = new TrackerPeerSource(trackerDeps(log, bind), {
      infoHash: handle.info.infoHash,
      peerId: s.peerId,
      port: handle.tcpPort,
      trackers: [...trackers],
      totals: () => {
        const stats = s.stats();
        const p = s.progress();
        return { uploaded: stats.uploaded, downloaded: stats.downloaded, left: p.bytesTotal - p.bytesHave };
      },
    });
    if (s.isComplete()) source.completed();
    s.on('complete', () => source.completed());
    source.start(filtered((p) => handle.addPeer(p), allowLocal));
    return () => source.stop();
  };
}
