/**
 * announce_peer tokens (BEP 5 "Peers"): a token is a keyed hash of the requester's IP, so only a node that
 * asked us get_peers from that address can announce. Secrets rotate every 5 minutes and the previous one is
 * still accepted, so a token is good for 5 to 10 minutes. Rotation is lazy, driven by `now`: no timer.
 */
import { createHash } from 'node:crypto';
import type { Random } from '../util/random.js';
import { bytesEqual, utf8 } from '../util/bytes.js';
import { TOKEN_LENGTH, TOKEN_ROTATE_MS } from './constants.js';

const SECRET_BYTES = 16;
/** Addresses whose current token is remembered. */
const TOKEN_CACHE_SIZE = 10_000;

export class TokenManager {
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;
  private readonly cache = new Map<string, Uint8Array>();
  private cacheSecret: Uint8Array | undefined;

  constructor(
    private readonly random: Random,
    now: number,
    private readonly rotateMs = TOKEN_ROTATE_MS,
  ) {
    this.current = random.bytes(SECRET_BYTES);
    this.previous = random.bytes(SECRET_BYTES);
    this.rotatedAt = now;
  }

  private rotate(now: number): void {
    const elapsed = now - this.rotatedAt;
    if (elapsed < this.rotateMs) return;
    if (elapsed >= 2 * this.rotateMs) {
      // Both secrets are stale: no token handed out before now stays valid.
      this.previous = this.random.bytes(SECRET_BYTES);
    } else {
      this.previous = this.current;
    }
    this.current = this.random.bytes(SECRET_BYTES);
    this.rotatedAt = now - (elapsed % this.rotateMs);
  }

  private hash(secret: Uint8Array, host: string): Uint8Array {
    return new Uint8Array(createHash('sha1').update(secret).update(utf8(host)).digest().subarray(0, TOKEN_LENGTH));
  }

  /** The token for a requester at `host`. */
  issue(host: string, now: number): Uint8Array {
    this.rotate(now);
    // A busy node answers the same addresses again and again: a bounded cache of the current secret's
    // tokens saves a SHA-1 per get_peers. It is dropped whenever the secret changes.
    if (this.cacheSecret !== this.current) {
      this.cache.clear();
      this.cacheSecret = this.current;
    }
    let token = this.cache.get(host);
    if (token === undefined) {
      token = this.hash(this.current, host);
      if (this.cache.size >= TOKEN_CACHE_SIZE) this.cache.clear();
      this.cache.set(host, token);
    }
    return token;
  }

  /** True when `token` was issued to `host` within the last 5-10 minutes. */
  verify(token: Uint8Array, host: string, now: number): boolean {
    this.rotate(now);
    if (token.length !== TOKEN_LENGTH) return false;
    return bytesEqual(token, this.hash(this.current, host)) || bytesEqual(token, this.hash(this.previous, host));
  }
}
