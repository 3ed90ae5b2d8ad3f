import { describe, expect, it } from 'vitest';
import { encode } from '../../src/codec/bencode.js';
import type { AnnounceParams } from '../../src/tracker/announce-request.js';
import type { HttpGet, HttpGetResponse } from '../../src/tracker/http-get.js';
import { announce, MAX_REDIRECTS } from '../../src/tracker/http-tracker.js';
import { TrackerError } from '../../src/tracker/tracker-error.js';
import { utf8 } from '../../src/util/bytes.js';
import { FakeClock, flushMicrotasks } from '../support/fake-clock.js';

const PARAMS: AnnounceParams = {
  infoHash: new Uint8Array(20).fill(0xaa),
  peerId: new Uint8Array(20).fill(0xbb),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  event: 'started',
};
const PEERS = Uint8Array.from([10, 0, 0, 1, 0x1a, 0xe1]);

/** An HttpGet that answers from a list and records the URLs it was asked for. */
function scripted(replies: HttpGetResponse[]): HttpGet & { urls: string[] } {
  const urls: string[] = [];
  const get: HttpGet = async (url) => {
    urls.push(url);
    const r = replies.shift();
    if (!r) throw new Error('no more replies');
    return r;
  };
  return Object.assign(get, { urls });
}
const reply = (status: number, body: Uint8Array, location?: string): HttpGetResponse => ({ status, body, location });

async function rejection(p: Promise<unknown>): Promise<TrackerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrackerError);
  return err as TrackerError;
}

describe('HTTP announce', () => {
  it('returns the decoded reply', async () => {
    const httpGet = scripted([reply(200, encode({ interval: 900, peers: PEERS }))]);
    const r = await announce({ clock: new FakeClock(), httpGet }, 'http://t.test/announce', PARAMS);
    expect(r.peers).toEqual([{ host: '10.0.0.1', port: 6881 }]);
    expect(httpGet.urls[0]).toMatch(/^http:\/\/t\.test\/announce\?info_hash=(%AA){20}&peer_id=(%BB){20}&port=6881/);
  });

  it('turns a failure reason into tracker_failure with the tracker text, even under a 4xx status', async () => {
    for (const status of [200, 400]) {
      const httpGet = scripted([reply(status, encode({ 'failure reason': 'unregistered torrent' }))]);
      const err = await rejection(announce({ clock: new FakeClock(), httpGet }, 'http://t.test/a', PARAMS));
      expect(err.code).toBe('tracker_failure');
      expect(err.trackerMessage).toBe('unregistered torrent');
    }
  });

  it('maps a non-200 status to tracker_http_status and garbage to tracker_bad_reply', async () => {
    let err = await rejection(announce({ clock: new FakeClock(), httpGet: scripted([reply(502, utf8('<html>'))]) }, 'http://t/a', PARAMS));
    expect([err.code, err.status]).toEqual(['tracker_http_status', 502]);
    err = await rejection(announce({ clock: new FakeClock(), httpGet: scripted([reply(200, utf8('<html>'))]) }, 'http://t/a', PARAMS));
    expect(err.code).toBe('tracker_bad_reply');
    err = await rejection(announce({ clock: new FakeClock(), httpGet: scripted([reply(200, encode({ peers: new Uint8Array(7) }))]) }, 'http://t/a', PARAMS));
    expect(err.code).toBe('tracker_bad_reply');
  });

  it('refuses udp:// (BEP 15 is out of scope) and other schemes before any request', async () => {
    const httpGet = scripted([]);
    for (const url of ['udp://tracker.test:6969/announce', 'wss://t.test', 'not a url']) {
      const err = await rejection(announce({ clock: new FakeClock(), httpGet }, url, PARAMS));
      expect(err.code).toBe('tracker_unsupported_scheme');
    }
    expect(httpGet.urls).toEqual([]);
  });

  it('follows relative and absolute redirects, at most MAX_REDIRECTS', async () => {
    const body = encode({ interval: 900, peers: PEERS });
    const httpGet = scripted([reply(301, new Uint8Array(0), '/moved?x=1'), reply(307, new Uint8Array(0), 'https://other.test/a?y=2'), reply(200, body)]);
    const r = await announce({ clock: new FakeClock(), httpGet }, 'http://t.test/announce', PARAMS);
    expect(r.peers).toHaveLength(1);
    expect(httpGet.urls.slice(1)).toEqual(['http://t.test/moved?x=1', 'https://other.test/a?y=2']);

    const loop = scripted(Array.from({ length: MAX_REDIRECTS + 1 }, () => reply(302, new Uint8Array(0), '/again')));
    const err = await rejection(announce({ clock: new FakeClock(), httpGet: loop }, 'http://t.test/a', PARAMS));
    expect(err.code).toBe('tracker_http_status');
    expect(loop.urls).toHaveLength(MAX_REDIRECTS + 1);

    const toUdp = scripted([reply(302, new Uint8Array(0), 'udp://t.test:80/')]);
    expect((await rejection(announce({ clock: new FakeClock(), httpGet: toUdp }, 'http://t.test/a', PARAMS))).code).toBe('tracker_unsupported_scheme');
  });

  it('times out on the injected clock and aborts the request', async () => {
    const clock = new FakeClock();
    let seen: AbortSignal | undefined;
    const hang: HttpGet = (_url, { signal }) =>
      new Promise((_resolve, reject) => {
        seen = signal;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const p = rejection(announce({ clock, httpGet: hang }, 'http://t/a', PARAMS, { timeoutMs: 5000 }));
    await flushMicrotasks();
    clock.advance(4999);
    expect(seen?.aborted).toBe(false);
    clock.advance(1);
    expect((await p).code).toBe('tracker_timeout');
    expect(seen?.aborted).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('passes a caller abort through untouched', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const hang: HttpGet = (_url, { signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const p = announce({ clock: new FakeClock(), httpGet: hang }, 'http://t/a', PARAMS, { signal: controller.signal });
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
  });
});
