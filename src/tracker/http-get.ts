/**
 * The one place the tracker client touches the network: a GET over node:http or node:https that reads at
 * most `maxBytes` of body and stops when `signal` aborts. It follows no redirects (the caller does, so it
 * can bound and check them) and asks for no compression. Timeouts are the caller's, on its Clock.
 */
import http from 'node:http';
import https from 'node:https';
import { TrackerError } from './tracker-error.js';

export interface HttpGetResponse {
  status: number;
  /** The `Location` header, for redirects. */
  location: string | undefined;
  body: Uint8Array;
}

/** A fetch-like function: tests inject one that needs no sockets. Rejects with a TrackerError, or with
 *  `signal.reason` when aborted. */
export type HttpGet = (url: string, options: { signal: AbortSignal; maxBytes: number }) => Promise<HttpGetResponse>;

const USER_AGENT = 'dht-node/0.1';

/** The production HttpGet over node:http/https. */
/** An HttpGet whose connections leave from `localAddress` (the CLI's --bind), so trackers see that address. */
export function httpGetFrom(localAddress: string | undefined): HttpGet {
  return (url, options) => nodeHttpGet(url, options, localAddress);
}

export const nodeHttpGet = (url: string, { signal, maxBytes }: { signal: AbortSignal; maxBytes: number }, localAddress?: string): Promise<HttpGetResponse> =>
  new Promise<HttpGetResponse>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      reject(new TrackerError('tracker_unsupported_scheme', `not a URL: ${url}`, { cause: err }));
      return;
    }
    const lib = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new TrackerError('tracker_unsupported_scheme', `scheme ${target.protocol} is not HTTP(S)`));
      return;
    }
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const req = lib.request(target, {
      method: 'GET',
      ...(localAddress !== undefined ? { localAddress } : {}),
      // A fresh connection per announce: announces are minutes apart, and no pooled socket outlives us.
      agent: false,
      headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', connection: 'close' },
    });
    const onAbort = (): void => {
      finish(() => reject(signal.reason));
      req.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => finish(() => reject(new TrackerError('tracker_unreachable', `cannot reach ${target.host}: ${err.message}`, { cause: err }))));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const location = typeof res.headers.location === 'string' ? res.headers.location : undefined;
      const declared = Number(res.headers['content-length'] ?? 0);
      const tooLarge = (): void => {
        finish(() => reject(new TrackerError('tracker_bad_reply', `reply larger than ${maxBytes} bytes`)));
        req.destroy();
      };
      if (declared > maxBytes) {
        tooLarge();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge();
        else chunks.push(chunk);
      });
      res.on('error', (err) => finish(() => reject(new TrackerError('tracker_unreachable', `reply from ${target.host} broke off: ${err.message}`, { cause: err }))));
      res.on('end', () => finish(() => resolve({ status, location, body: new Uint8Array(Buffer.concat(chunks)) })));
      // A connection closed before the end of the body: treat as unreachable (no-op once settled).
      res.on('close', () => finish(() => reject(new TrackerError('tracker_unreachable', `reply from ${target.host} ended early`))));
    });
    req.end();
  });
