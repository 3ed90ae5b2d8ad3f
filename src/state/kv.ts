/**
 * The ordered key-value surface the state core needs, so one core (kv-state-store.ts) runs over LevelDB
 * and over an in-memory map with the same semantics. Keys are strings compared by their UTF-8 bytes, as
 * LevelDB does; values are bytes.
 */
import type { KeyRange } from './record-codec.js';

export type KvOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

export interface KvBackend {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Applies all operations atomically (one LevelDB WriteBatch). */
  batch(ops: readonly KvOp[]): Promise<void>;
  /** Yields the entries of a range in key order, at most `chunk` per step, so memory stays bounded. */
  entries(range: KeyRange, chunk: number): AsyncIterable<Array<[string, Uint8Array]>>;
  /** Yields only the keys of a range, in key order, in chunks. */
  keys(range: KeyRange, chunk: number): AsyncIterable<string[]>;
  /** Deletes every key of a range; not atomic as a whole (callers make that safe, see docs/state.md). */
  clear(range: KeyRange): Promise<void>;
  close(): Promise<void>;
}
