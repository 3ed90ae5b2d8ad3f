/**
 * The LevelDB StateStore: a thin backend under the shared core (kv-state-store.ts) plus the opening
 * policy. Opening maps LevelDB's failures onto typed errors with a one-line message naming the path
 * ('state_locked', 'state_unreadable', 'state_corrupt'), and a database LevelDB calls corrupt is moved
 * aside to `<dir>.corrupt-<n>` and replaced by a fresh one with a warning (docs/state.md).
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import { Level } from 'level';
import { DhtNodeError, errorCode, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { KvBackend, KvOp } from './kv.js';
import { KvStateStore } from './kv-state-store.js';
import type { KeyRange } from './record-codec.js';
import { roleStateDir } from './state-dir.js';

export { defaultStateDir, roleStateDir } from './state-dir.js';

/** How many `<dir>.corrupt-<n>` names are tried before giving up (someone should clean them up by then). */
const MAX_CORRUPT_COPIES = 100;

type Db = Level<string, Uint8Array>;

/** The LevelDB error code, which classic-level puts on the error or on its `cause`. */
function levelCode(err: unknown): string | undefined {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  return errorCode(cause) ?? errorCode(err);
}

function causeMessage(err: unknown): string {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  return (cause instanceof Error ? cause.message : errorMessage(err)).replace(/\s+/g, ' ');
}

function bounds(range: KeyRange): { gte?: string; lt?: string } {
  const out: { gte?: string; lt?: string } = {};
  if (range.gte !== undefined) out.gte = range.gte;
  if (range.lt !== undefined) out.lt = range.lt;
  return out;
}

/** LevelDB behind the KvBackend surface; write failures become 'state_write_failed'. */
class LevelKv implements KvBackend {
  constructor(
    private readonly db: Db,
    private readonly path: string,
  ) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.db.get(key);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    try {
      await this.db.batch(ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : op)));
    } catch (err) {
      throw new DhtNodeError('state_write_failed', `state store ${this.path}: write failed: ${causeMessage(err)}`, { cause: err });
    }
  }

  async *entries(range: KeyRange, chunk: number): AsyncIterable<Array<[string, Uint8Array]>> {
    const it = this.db.iterator(bounds(range));
    try {
      for (;;) {
        const batch = await it.nextv(chunk);
        if (batch.length === 0) return;
        yield batch;
      }
    } finally {
      await it.close();
    }
  }

  async *keys(range: KeyRange, chunk: number): AsyncIterable<string[]> {
    const it = this.db.keys(bounds(range));
    try {
      for (;;) {
        const batch = await it.nextv(chunk);
        if (batch.length === 0) return;
        yield batch;
      }
    } finally {
      await it.close();
    }
  }

  async clear(range: KeyRange): Promise<void> {
    try {
      await this.db.clear(bounds(range));
    } catch (err) {
      throw new DhtNodeError('state_write_failed', `state store ${this.path}: clear failed: ${causeMessage(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export interface LevelStoreDeps {
  /** Warnings about a rebuilt or repaired store go here. */
  readonly log?: Logger;
}

export interface LevelStoreOptions {
  /**
   * What to do when LevelDB reports the database corrupt: 'rebuild' (default) moves it aside to
   * `<dir>.corrupt-<n>` and starts fresh with a warning; 'fail' throws 'state_corrupt'.
   */
  readonly onCorrupt?: 'rebuild' | 'fail';
}

/** Renames a damaged database out of the way; returns the new path. */
async function moveAside(dir: string): Promise<string> {
  for (let n = 1; n <= MAX_CORRUPT_COPIES; n++) {
    const target = `${dir}.corrupt-${n}`;
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    try {
      await rename(dir, target);
    } catch (err) {
      throw new DhtNodeError('state_unreadable', `state store ${dir} is corrupt and could not be moved aside: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return target;
  }
  throw new DhtNodeError('state_unreadable', `state store ${dir} is corrupt and ${MAX_CORRUPT_COPIES} corrupt copies already exist beside it`);
}

/** Opens LevelDB, mapping its failures to typed errors; 'corrupt' is returned for the caller's policy. */
async function openDb(dir: string): Promise<Db | 'corrupt'> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new DhtNodeError('state_unreadable', `cannot create state directory ${dir}: ${errorMessage(err)}`, { cause: err });
  }
  const db: Db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open({ createIfMissing: true });
    return db;
  } catch (err) {
    const code = levelCode(err);
    if (code === 'LEVEL_LOCKED') {
      throw new DhtNodeError('state_locked', `state store ${dir} is locked: another dht-node process is using it`, { cause: err });
    }
    if (code === 'LEVEL_CORRUPTION') return 'corrupt';
    throw new DhtNodeError('state_unreadable', `cannot open state store ${dir}: ${causeMessage(err)}`, { cause: err });
  }
}

/**
 * Opens (creating with parents) the LevelDB state store in `dir` and checks its schema. Throws a
 * DhtNodeError whose message is one line naming the path: 'state_locked' (another process holds it),
 * 'state_unreadable' (cannot create or read the directory), 'state_version' (written by a newer schema),
 * 'state_foreign' (a LevelDB that is not ours), 'state_corrupt' (corrupt and `onCorrupt: 'fail'`).
 */
export async function openLevelStore(dir: string, deps: LevelStoreDeps = {}, options: LevelStoreOptions = {}): Promise<KvStateStore> {
  const log = deps.log ?? silentLogger;
  let movedTo: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const db = await openDb(dir);
    let store: KvStateStore | undefined;
    if (db !== 'corrupt') {
      store = new KvStateStore({ backend: new LevelKv(db, dir), log }, { label: dir, movedCorruptTo: movedTo });
      try {
        await store.init();
        return store;
      } catch (err) {
        await db.close().catch(() => undefined);
        if (levelCode(err) !== 'LEVEL_CORRUPTION') throw err;
      }
    }
    if (options.onCorrupt === 'fail' || attempt > 0) {
      throw new DhtNodeError('state_corrupt', `state store ${dir} is corrupt; move it aside or delete it`);
    }
    movedTo = await moveAside(dir);
    log.warn('state store was corrupt; moved it aside and started a fresh one', { path: dir, movedTo });
  }
  throw new DhtNodeError('state_corrupt', `state store ${dir} is corrupt; move it aside or delete it`);
}

/**
 * Opens the store of one role, `<stateDir>/<role>` (e.g. 'run', 'bootstrap', 'download'), so commands on
 * one machine each hold their own LevelDB lock. Throws 'state_bad_role' for a name that is not
 * `[a-z][a-z0-9-]*` (at most 32 chars), and otherwise as openLevelStore.
 */
export function openRoleStore(
  stateDir: string,
  role: string,
  deps: LevelStoreDeps = {},
  options: LevelStoreOptions = {},
): Promise<KvStateStore> {
  return openLevelStore(roleStateDir(stateDir, role), deps, options);
}
