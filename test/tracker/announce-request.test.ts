import { describe, expect, it } from 'vitest';
import { buildAnnounceUrl, percentEncodeBytes, type AnnounceParams } from '../../src/tracker/announce-request.js';
import { fromHex, utf8 } from '../../src/util/bytes.js';

const INFO_HASH = fromHex('123456789abcdef123456789abcdef123456789a') as Uint8Array;
// A peer id with bytes above 0x7f, which must not go through UTF-8.
const PEER_ID = Uint8Array.from([...utf8('-DN0001-'), 0x00, 0xff, 0x80, 0x20, 0x2b, 0x26, 0x3d, 0x25, 0x41, 0x7e, 0x2e, 0x2d]);

const params = (over: Partial<AnnounceParams> = {}): AnnounceParams => ({
  infoHash: INFO_HASH,
  peerId: PEER_ID,
  port: 6881,
  uploaded: 10,
  downloaded: 20,
  left: 30,
  event: 'started',
  ...over,
});

/** Reads a query parameter back as raw bytes, the way a tracker must. */
function rawParam(url: string, name: string): Uint8Array {
  const query = url.slice(url.indexOf('?') + 1);
  const part = query.split('&').find((p) => p.startsWith(`${name}=`));
  if (part === undefined) throw new Error(`no ${name}`);
  const text = part.slice(name.length + 1);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(text.charCodeAt(i));
  }
  return Uint8Array.from(out);
}

describe('announce URL', () => {
  it('percent-encodes every byte but the RFC 3986 unreserved ones', () => {
    expect(percentEncodeBytes(Uint8Array.from([0x00, 0x41, 0x7a, 0x39, 0x2d, 0x2e, 0x5f, 0x7e, 0x20, 0x2b, 0xff]))).toBe('%00Az9-._~%20%2B%FF');
    expect(percentEncodeBytes(INFO_HASH)).toBe('%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A');
  });

  it('carries the binary info_hash and peer_id byte for byte', () => {
    const url = buildAnnounceUrl('http://tracker.test/announce', params());
    expect(rawParam(url, 'info_hash')).toEqual(INFO_HASH);
    expect(rawParam(url, 'peer_id')).toEqual(PEER_ID);
  });

  it('sends the BEP 3 parameters with compact=1', () => {
    const url = buildAnnounceUrl('http://tracker.test/announce', params({ numwant: 50, key: Uint8Array.from([1, 2, 0xab, 0xcd]) }));
    expect(url).toMatch(/^http:\/\/tracker\.test\/announce\?info_hash=/);
    expect(url).toContain('&port=6881&uploaded=10&downloaded=20&left=30&compact=1&numwant=50&event=started&key=0102abcd');
  });

  it('leaves event out for a regular announce and echoes the tracker id', () => {
    const url = buildAnnounceUrl('http://tracker.test/announce', params({ event: 'none', trackerId: Uint8Array.from([0x61, 0x20, 0xfe]) }));
    expect(url).not.toContain('event=');
    expect(url).toContain('&trackerid=a%20%FE');
    for (const event of ['completed', 'stopped'] as const) expect(buildAnnounceUrl('http://t/a', params({ event }))).toContain(`&event=${event}`);
  });

  it('keeps the tracker query (passkey) and drops a fragment', () => {
    expect(buildAnnounceUrl('https://t.test/announce?passkey=abc#frag', params())).toMatch(/^https:\/\/t\.test\/announce\?passkey=abc&info_hash=/);
    expect(buildAnnounceUrl('https://t.test/announce?', params())).toMatch(/^https:\/\/t\.test\/announce\?info_hash=/);
  });

  it('sends non-negative integer counters even from bad arithmetic', () => {
    const url = buildAnnounceUrl('http://t/a', params({ uploaded: -5, downloaded: Number.NaN, left: 12.7 }));
    expect(url).toContain('&uploaded=0&downloaded=0&left=12&');
  });
});
