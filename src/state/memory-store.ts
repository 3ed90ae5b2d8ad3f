/**
 * The in-memory StateStore for tests and simulations: the same core as the LevelDB store over a sorted
 * map, so schema checks, replace-all generations, validation on load and the report behave identically.
 * A MemoryKv outlives the store opened on it, so a test can "restart" by opening a new store on it, and can
 * write raw bad records into it to exercise the corrupt-record paths.
 */
import { DhtNodeError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { KvBackend, KvOp } from './kv.js';
import { KvStateStore } from './kv-state-store.js';
import type { KeyRange } from './record-codec.js';

/**
 * Orders strings as LevelDB orders their UTF-8 bytes, i.e. by code point: UTF-16 units compare the same
 * way except that surrogates (code points above U+FFFF) must sort after U+E000..U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function inRange(key: string, range: KeyRange): boolean {
  return (range.gte === undefined || compareKeys(key, range.gte) >= 0) && (range.lt === undefined || compareKeys(key, range.lt) < 0);
}

/** A sorted-on-read map standing in for LevelDB. Iteration works on a snapshot, as LevelDB's does. */
export class MemoryKv implements KvBackend {
  private readonly map = new Map<string, Uint8Array>();
  private held = false;

  /** Takes the store's lock, like LevelDB's LOCK file; a second holder gets 'state_locked'. */
  acquire(label: string): void {
    if (this.held) throw new DhtNodeError('state_locked', `state store ${label} is already open`);
    this.held = true;
  }

  /** Raw access for tests: write any key and bytes, bypassing validation. */
  putRaw(key: string, value: Uint8Array): void {
    this.map.set(key, Uint8Array.from(value));
  }

  /** Raw access for tests: every key, sorted. */
  rawKeys(): string[] {
    return [...this.map.keys()].sort(compareKeys);
  }

  get size(): number {
    return this.map.size;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.map.get(key);
    return v === undefined ? undefined : Uint8Array.from(v);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.map.set(op.key, Uint8Array.from(op.value));
      else this.map.delete(op.key);
    }
  }

  private snapshot(range: KeyRange): Array<[string, Uint8Array]> {
    const out: Array<[string, Uint8Array]> = [];
    for (const [k, v] of this.map) if (inRange(k, range)) out.push([k, v]);
    return out.sort((a, b) => compareKeys(a[0], b[0]));
  }

  async *entries(range: KeyRange, chunk: number): AsyncIterable<Array<[string, Uint8Array]>> {
    const all = this.snapshot(range);
    for (let i = 0; i < all.length; i += chunk) {
      yield all.slice(i, i + chunk).map(([k, v]) => [k, Uint8Array.from(v)] as [string, Uint8Array]);
    }
  }

  async *keys(range: KeyRange, chunk: number): AsyncIterable<string[]> {
    const all = this.snapshot(range);
    for (let i = 0; i < all.length; i += chunk) yield all.slice(i, i + chunk).map(([k]) => k);
  }

  async clear(range: KeyRange): Promise<void> {
    for (const k of [...this.map.keys()]) if (inRange(k, range)) this.map.delete(k);
  }

  async close(): Promise<void> {
    this.held = false;
  }
}

export interface MemoryStoreDeps {
  readonly log?: Logger;
}

export interface MemoryStoreOptions {
  /** Reuse a map to simulate a restart; a fresh one by default. */
  readonly kv?: MemoryKv;
  /** Names the store in messages; default 'memory'. */
  readonly label?: string;
}

/** Opens an in-memory StateStore (schema check included) on a new or given MemoryKv. */
export async function openMemoryStore(deps: MemoryStoreDeps = {}, options: MemoryStoreOptions = {}): Promise<KvStateStore> {
  const kv = options.kv ?? new MemoryKv();
  const label = options.label ?? 'memory';
  kv.acquire(label);
  const store = new KvStateStore({ backend: kv, log: deps.log ?? silentLogger }, { label });
  try {
    await store.init();
  } catch (err) {
    await kv.close();
    throw err;
  }
  return store;
}
