/**
 * Errors of the tracker client. Callers branch on `code`; the tracker's own text (a `failure reason`)
 * travels in `trackerMessage` so it can be shown to the operator without parsing our message.
 */
import { DhtNodeError } from '../util/errors.js';

/** Every failure an announce can end in. */
export type TrackerErrorCode =
  /** The tracker answered with a `failure reason` (BEP 3). */
  | 'tracker_failure'
  /** An HTTP status other than 200 with no bencoded failure in the body, or too many redirects. */
  | 'tracker_http_status'
  /** No complete reply within the request timeout. */
  | 'tracker_timeout'
  /** The reply was not a valid announce reply (bad bencode, wrong types, too large). */
  | 'tracker_bad_reply'
  /** Connection refused, DNS failure, reset: the tracker could not be reached. */
  | 'tracker_unreachable'
  /** A scheme we do not speak: udp:// (BEP 15 is out of scope), wss://, anything not http(s). */
  | 'tracker_unsupported_scheme';

export class TrackerError extends DhtNodeError {
  declare readonly code: TrackerErrorCode;
  /** The tracker's `failure reason` text, for `tracker_failure`. */
  readonly trackerMessage: string | undefined;
  /** The HTTP status, for `tracker_http_status`. */
  readonly status: number | undefined;

  constructor(
    code: TrackerErrorCode,
    message: string,
    options: { cause?: unknown; trackerMessage?: string; status?: number } = {},
  ) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.trackerMessage = options.trackerMessage;
    this.status = options.status;
  }
}
