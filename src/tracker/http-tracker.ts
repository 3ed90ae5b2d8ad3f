/**
 * One HTTP announce (BEP 3): build the URL, GET it with a bounded body and a deadline on the injected
 * Clock, follow a few redirects, decode the reply. Every failure is a TrackerError with a stable code;
 * a `failure reason` from the tracker becomes `tracker_failure` carrying the tracker's text.
 *
 * Only http:// and https:// are spoken. UDP trackers (BEP 15) are out of scope: a udp:// URL fails at
 * once with `tracker_unsupported_scheme`, before any I/O.
 */
import type { Clock } from '../util/clock.js';
import { DecodeError } from '../util/errors.js';
import { buildAnnounceUrl, type AnnounceParams } from './announce-request.js';
import { decodeAnnounceReply, MAX_REPLY_BYTES, type AnnounceReply } from './announce-reply.js';
import type { HttpGet } from './http-get.js';
import { TrackerError } from './tracker-error.js';

/** Whole-request deadline, redirects included. libtorrent's tracker_receive_timeout is 10 s and its
 *  completion timeout 30 s; 15 s is between them. */
export const ANNOUNCE_TIMEOUT_MS = 15_000;
/** Redirects followed per announce: enough for http->https and a moved tracker, not a loop. */
export const MAX_REDIRECTS = 3;

export interface HttpTrackerDeps {
  clock: Clock;
  httpGet: HttpGet;
}

export interface AnnounceOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  maxReplyBytes?: number | undefined;
}

/** Schemes we speak; `udp:` and the rest are refused with tracker_unsupported_scheme. */
export function trackerScheme(url: string): 'http:' | 'https:' | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.protocol : undefined;
}

function checkScheme(url: string): void {
  if (trackerScheme(url) !== undefined) return;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const why = scheme === 'udp' ? 'UDP trackers (BEP 15) are not supported' : scheme ? `scheme ${scheme}: is not supported` : 'not a URL';
  throw new TrackerError('tracker_unsupported_scheme', `${why}: ${url}`);
}

/** Announces to one tracker and returns its decoded reply; rejects with a TrackerError. */
export async function announce(deps: HttpTrackerDeps, trackerUrl: string, params: AnnounceParams, options: AnnounceOptions = {}): Promise<AnnounceReply> {
  checkScheme(trackerUrl);
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? ANNOUNCE_TIMEOUT_MS;
  const timeout = new TrackerError('tracker_timeout', `no reply from ${trackerUrl} within ${timeoutMs} ms`);
  const timer = deps.clock.setTimeout(() => controller.abort(timeout), timeoutMs);
  const outer = options.signal;
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    return await announceWithRedirects(deps.httpGet, trackerUrl, params, controller.signal, options.maxReplyBytes ?? MAX_REPLY_BYTES);
  } catch (err) {
    // Our own deadline reads as a timeout; an abort from the caller is passed through untouched.
    if (controller.signal.aborted && controller.signal.reason === timeout) throw timeout;
    throw err;
  } finally {
    deps.clock.clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

async function announceWithRedirects(httpGet: HttpGet, trackerUrl: string, params: AnnounceParams, signal: AbortSignal, maxBytes: number): Promise<AnnounceReply> {
  let url = buildAnnounceUrl(trackerUrl, params);
  for (let redirects = 0; ; redirects++) {
    const res = await httpGet(url, { signal, maxBytes });
    if (res.status >= 300 && res.status < 400 && res.location !== undefined) {
      if (redirects >= MAX_REDIRECTS) throw new TrackerError('tracker_http_status', `more than ${MAX_REDIRECTS} redirects from ${trackerUrl}`, { status: res.status });
      let next: string;
      try {
        next = new URL(res.location, url).toString();
      } catch (err) {
        throw new TrackerError('tracker_bad_reply', `unusable redirect from ${trackerUrl}`, { cause: err, status: res.status });
      }
      // The redirect target already carries our query (trackers redirect the full request).
      checkScheme(next);
      url = next;
      continue;
    }
    return interpret(trackerUrl, res.status, res.body);
  }
}

function interpret(trackerUrl: string, status: number, body: Uint8Array): AnnounceReply {
  let decoded: ReturnType<typeof decodeAnnounceReply> | undefined;
  let decodeError: DecodeError | undefined;
  try {
    decoded = decodeAnnounceReply(body);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    decodeError = err;
  }
  // Some trackers send their bencoded failure with a 4xx status: the tracker's words are worth more than
  // the status, so a readable failure reason wins whatever the status.
  if (decoded?.kind === 'failure') {
    throw new TrackerError('tracker_failure', `tracker ${trackerUrl} refused: ${decoded.reason}`, { trackerMessage: decoded.reason, status });
  }
  if (status !== 200) throw new TrackerError('tracker_http_status', `tracker ${trackerUrl} answered HTTP ${status}`, { status });
  if (decoded === undefined) {
    throw new TrackerError('tracker_bad_reply', `bad reply from ${trackerUrl}: ${decodeError?.message ?? 'undecodable'}`, { cause: decodeError, status });
  }
  return decoded;
}
