import { describe, expect, it } from 'vitest';
import { encode, type EncodableValue } from '../../src/codec/bencode.js';
import type { PeerAddress } from '../../src/codec/compact.js';
import type { HttpGet } from '../../src/tracker/http-get.js';
import { BACKOFF_BASE_MS, BACKOFF_JITTER, TrackerSession, type TransferTotals } from '../../src/tracker/tracker-session.js';
import { silentLogger } from '../../src/util/log.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

interface Request {
  url: string;
  tracker: string;
  event: string;
  at: number;
  params: Map<string, string>;
}

/**
 * A scripted tracker behind an injected HttpGet: `answer` decides each reply (a bencodable value, an
 * Error to throw, or 'hang' to never answer until aborted).
 */
function fakeTrackers(clock: FakeClock, answer: (req: Request) => EncodableValue | Error | 'hang') {
  const requests: Request[] = [];
  const httpGet: HttpGet = (url, { signal }) => {
    const [base = '', query = ''] = url.split('?');
    const params = new Map(query.split('&').map((kv) => kv.split('=') as [string, string]));
    const req: Request = { url, tracker: base, event: params.get('event') ?? 'none', at: clock.now(), params };
    requests.push(req);
    const a = answer(req);
    if (a === 'hang') return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve({ status: 200, location: undefined, body: encode(a) });
  };
  return { requests, httpGet };
}

const T1 = 'http://t1.test/announce';
const T2 = 'http://t2.test/announce';
const PEERS = Uint8Array.from([10, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0x1a, 0xe2]);

function setup(answer: (req: Request) => EncodableValue | Error | 'hang', trackers = [T1], totals: TransferTotals = { uploaded: 0, downloaded: 0, left: 1000 }) {
  const clock = new FakeClock();
  const t = fakeTrackers(clock, answer);
  const got: { peers: PeerAddress[]; tracker: string }[] = [];
  const current = { ...totals };
  const session = new TrackerSession(
    { clock, random: new SeededRandom(1), log: silentLogger, httpGet: t.httpGet },
    {
      infoHash: new Uint8Array(20).fill(1),
      peerId: new Uint8Array(20).fill(2),
      port: 6881,
      trackers,
      totals: () => current,
      onPeers: (peers, tracker) => got.push({ peers, tracker }),
      stopTimeoutMs: 2000,
    },
  );
  return { clock, session, requests: t.requests, got, current };
}

const events = (reqs: Request[], tracker = T1): string[] => reqs.filter((r) => r.tracker === tracker).map((r) => r.event);

describe('TrackerSession', () => {
  it('announces started at once to each HTTP tracker and reports their peers; udp:// is counted, not sent', async () => {
    const { session, requests, got } = setup(() => ({ interval: 1800, peers: PEERS }), [T1, T2, 'udp://t3.test:6969/announce', T1]);
    session.start();
    await flushMicrotasks();
    expect(requests.map((r) => [r.tracker, r.event])).toEqual([
      [T1, 'started'],
      [T2, 'started'],
    ]);
    expect(got.map((g) => g.tracker)).toEqual([T1, T2]);
    expect(got[0]?.peers).toEqual([
      { host: '10.0.0.1', port: 6881 },
      { host: '10.0.0.2', port: 6882 },
    ]);
    const stats = session.stats();
    expect(stats.failuresByCode).toEqual({ tracker_unsupported_scheme: 1 });
    expect(stats.peersReceived).toBe(4);
    expect(stats.trackers.find((t) => t.url.startsWith('udp'))?.supported).toBe(false);
  });

  it('re-announces at the interval, never sooner than min interval, echoing the tracker id', async () => {
    const { clock, session, requests } = setup(() => ({ interval: 120, 'min interval': 300, 'tracker id': 'tid 1' }));
    session.start();
    await flushMicrotasks();
    const t0 = clock.now();
    await clock.advanceAsync(299_000, 1000);
    expect(requests).toHaveLength(1);
    await clock.advanceAsync(1000, 1000);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.event).toBe('none');
    expect(requests[1]?.at).toBe(t0 + 300_000);
    expect(requests[1]?.params.get('trackerid')).toBe('tid%201');
    expect(requests[0]?.params.has('trackerid')).toBe(false);
    await clock.advanceAsync(300_000, 1000);
    expect(requests).toHaveLength(3);
  });

  it('backs off exponentially with jitter on failure, keeps sending started, and never throws', async () => {
    let failing = 3;
    const { clock, session, requests } = setup(() => (failing-- > 0 ? Object.assign(new Error('refused'), { code: 'tracker_unreachable' }) : { interval: 1800 }));
    session.start();
    await flushMicrotasks();
    await clock.advanceAsync(10 * 60_000, 500);
    // Three failures (15 s, 30 s, 60 s plus jitter), then success; the next regular announce is 30 min away.
    expect(events(requests)).toEqual(['started', 'started', 'started', 'started']);
    const gaps = requests.slice(1, 4).map((r, i) => r.at - (requests[i] as Request).at);
    gaps.forEach((gap, i) => {
      const base = BACKOFF_BASE_MS * 2 ** i;
      expect(gap).toBeGreaterThanOrEqual(base);
      expect(gap).toBeLessThanOrEqual(Math.ceil(base * (1 + BACKOFF_JITTER)) + 500);
    });
    const stats = session.stats();
    expect(stats.failuresByCode).toEqual({ tracker_unreachable: 3 });
    expect(stats.trackers[0]).toMatchObject({ started: true, consecutiveFailures: 0, lastError: undefined });
  });

  it('treats a failure reason like any failure: counted, retried later', async () => {
    let n = 0;
    const { clock, session, requests } = setup(() => (n++ === 0 ? { 'failure reason': 'go away' } : { interval: 1800 }));
    session.start();
    await flushMicrotasks();
    expect(session.stats().trackers[0]?.lastError).toBe('tracker_failure');
    await clock.advanceAsync(BACKOFF_BASE_MS * (1 + BACKOFF_JITTER) + 1000, 500);
    expect(events(requests)).toEqual(['started', 'started']);
    expect(session.stats().failuresByCode).toEqual({ tracker_failure: 1 });
  });

  it('sends completed once, at once, then goes back to regular announces', async () => {
    const { clock, session, requests, current } = setup(() => ({ interval: 1800 }));
    session.start();
    await flushMicrotasks();
    await clock.advanceAsync(60_000, 1000);
    current.left = 0;
    session.completed();
    session.completed();
    await flushMicrotasks();
    expect(events(requests)).toEqual(['started', 'completed']);
    expect(requests[1]?.params.get('left')).toBe('0');
    await clock.advanceAsync(1800_000, 1000);
    expect(events(requests)).toEqual(['started', 'completed', 'none']);
  });

  it('sends completed after an in-flight started, and none at all when started already said left=0', async () => {
    const seededDone = setup(() => ({ interval: 1800 }), [T1], { uploaded: 0, downloaded: 0, left: 0 });
    seededDone.session.completed();
    seededDone.session.start();
    await seededDone.clock.advanceAsync(1800_000, 1000);
    expect(events(seededDone.requests)).toEqual(['started', 'none']);

    let answerStarted: ((v: void) => void) | undefined;
    const gate = new Promise<void>((r) => (answerStarted = r));
    const clock = new FakeClock();
    const requests: string[] = [];
    const httpGet: HttpGet = async (url) => {
      const event = /event=(\w+)/.exec(url)?.[1] ?? 'none';
      requests.push(event);
      if (event === 'started') await gate;
      return { status: 200, location: undefined, body: encode({ interval: 1800 }) };
    };
    const totals = { uploaded: 0, downloaded: 0, left: 500 };
    const s = new TrackerSession(
      { clock, random: new SeededRandom(2), log: silentLogger, httpGet },
      { infoHash: new Uint8Array(20), peerId: new Uint8Array(20), port: 1, trackers: [T1], totals: () => totals },
    );
    s.start();
    totals.left = 0;
    s.completed();
    answerStarted?.();
    await flushMicrotasks();
    expect(requests).toEqual(['started', 'completed']);
  });

  it('sends stopped on stop to trackers that know us, bounded in time, and then goes quiet', async () => {
    const { clock, session, requests } = setup((req) => (req.tracker === T2 && req.event === 'started' ? new Error('down') : req.event === 'stopped' ? 'hang' : { interval: 1800 }), [T1, T2]);
    session.start();
    await flushMicrotasks();
    let done = false;
    const stopping = session.stop().then(() => (done = true));
    await flushMicrotasks();
    expect(requests.filter((r) => r.event === 'stopped').map((r) => r.tracker)).toEqual([T1]);
    expect(requests.find((r) => r.event === 'stopped')?.params.get('numwant')).toBe('0');
    await clock.advanceAsync(1999, 100);
    expect(done).toBe(false);
    await clock.advanceAsync(100, 100);
    await stopping;
    expect(session.stats().failuresByCode).toMatchObject({ tracker_timeout: 1 });
    const count = requests.length;
    await clock.advanceAsync(3600_000, 60_000);
    expect(requests).toHaveLength(count);
    expect(clock.pending).toBe(0);
  });

  it('a stop during an unanswered started aborts it, still says stopped, and then goes quiet', async () => {
    const { clock, session, requests } = setup((req) => (req.event === 'started' ? 'hang' : { interval: 1800 }));
    session.start();
    await flushMicrotasks();
    await session.stop();
    expect(events(requests)).toEqual(['started', 'stopped']);
    await clock.advanceAsync(3600_000, 60_000);
    expect(requests).toHaveLength(2);
  });

  it('stop before start sends nothing', async () => {
    const { session, requests } = setup(() => ({ interval: 1800 }));
    await session.stop();
    session.start();
    await flushMicrotasks();
    expect(requests).toEqual([]);
  });
});
