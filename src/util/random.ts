/**
 * Randomness as a service. Production uses the operating system's CSPRNG; tests and simulations use a
 * seeded generator so every run of a test sees the same ids, shuffles and choices.
 */
import { randomBytes } from 'node:crypto';

export interface Random {
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
  /** A uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A uniform float in [0, 1). */
  float(): number;
}

/** Fisher-Yates shuffle in place (never a random sort, which is biased). */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/**
 * One step of an incremental Fisher-Yates: moves an item chosen uniformly from `items[i..]` to position `i`
 * and returns it. Steps 0, 1, 2 ... draw items in uniformly random order, as far as the caller needs.
 */
export function drawAt<T>(random: Random, items: T[], i: number): T {
  const j = i + random.int(items.length - i);
  const picked = items[j] as T;
  items[j] = items[i] as T;
  items[i] = picked;
  return picked;
}

/** Up to `count` distinct items picked uniformly (partial Fisher-Yates on a copy). */
export function sample<T>(random: Random, items: readonly T[], count: number): T[] {
  const pool = items.slice();
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) drawAt(random, pool, i);
  pool.length = n;
  return pool;
}

/** The OS CSPRNG, buffered so that per-packet calls (transaction ids) do not each cost a syscall. */
export class SystemRandom implements Random {
  private pool = new Uint8Array(0);
  private offset = 0;

  bytes(n: number): Uint8Array {
    if (n > 256) return new Uint8Array(randomBytes(n));
    if (this.offset + n > this.pool.length) {
      this.pool = new Uint8Array(randomBytes(4096));
      this.offset = 0;
    }
    const out = this.pool.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  float(): number {
    const b = this.bytes(7);
    // 53 random bits -> [0, 1)
    const hi = ((b[0] as number) & 0x1f) * 2 ** 48;
    const lo = (b[1] as number) * 2 ** 40 + (b[2] as number) * 2 ** 32 + (b[3] as number) * 2 ** 24 +
      (b[4] as number) * 2 ** 16 + (b[5] as number) * 2 ** 8 + (b[6] as number);
    return (hi + lo) / 2 ** 53;
  }
}

/**
 * A small, fast, seeded generator (sfc32) for tests and simulations. Not for secrets: token secrets and
 * node ids on the real network come from SystemRandom.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  private next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }

  float(): number {
    return this.next() / 2 ** 32;
  }

  /** A child generator with its own stream, so that one component's draws do not shift another's. */
  fork(): SeededRandom {
    return new SeededRandom(this.next());
  }
}
