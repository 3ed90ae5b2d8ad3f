/**
 * The LevelDB StateStore: a thin backend under the shared core (kv-state-store.ts) plus the opening
 * policy. Opening maps LevelDB's failures onto typed errors with a one-line message naming the path
 * ('state_locked', 'state_unreadable', 'state_corrupt'), and a database LevelDB calls corrupt is moved
 * aside to `<dir>.corrupt-<n>` and replaced by a fresh one with a warning (docs/state.md).
 */
import { constants } from 'node:fs';
import { access, mkdir, rename, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Level } from 'level';
import { DhtNodeError, errorCode, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { KvBackend, KvOp } from './kv.js';
import { KvStateStore } from './kv-state-store.js';
import { ID_LENGTH, KEY_NODE_ID, type KeyRange } from './record-codec.js';
import { roleStateDir } from './state-dir.js';

export { defaultStateDir, roleStateDir } from './state-dir.js';

/** How many `<dir>.corrupt-<n>` names are tried before giving up (someone should clean them up by then). */
const MAX_CORRUPT_COPIES = 100;

/** Entries per iterator step of the open-time read-through: bounded memory. */
const VERIFY_CHUNK = 1_000;

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
    try {
      return await this.db.get(key);
    } catch (err) {
      throw new DhtNodeError('state_read_failed', `state store ${this.path}: read failed: ${causeMessage(err)}`, { cause: err });
    }
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
  /**
   * Read every record once on open (default true) so a damaged table triggers the rebuild at start
   * instead of failing saves later; costs one pass over the data (see test/bench/state-pool.mjs).
   */
  readonly verify?: boolean;
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

/**
 * `mkdir -p` one level at a time. Node 20's `mkdir(dir, { recursive: true })` never settles for some
 * impossible paths (under /proc it loops on ENOENT), which would hang the CLI instead of failing it.
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    const st = await stat(at).catch((err: unknown) => {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (st !== undefined) {
      if (!st.isDirectory()) throw new DhtNodeError('state_unreadable', `${at} is not a directory`);
      break;
    }
    const parent = dirname(at);
    if (parent === at) break;
    missing.push(at);
    at = parent;
  }
  for (const d of missing.reverse()) {
    await mkdir(d).catch((err: unknown) => {
      if (errorCode(err) !== 'EEXIST') throw err;
    });
  }
}

/** True when the directory itself can be listed and written: then an I/O error opening it lies inside. */
async function dirIsUsable(dir: string): Promise<boolean> {
  return access(dir, constants.R_OK | constants.W_OK | constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * Opens LevelDB, mapping its failures to typed errors. Returns `{ damaged: reason }` when LevelDB reports corruption,
 * or an I/O error inside a directory we can read and write (a garbled CURRENT names a missing manifest, a
 * truncated table fails to read): both mean the files are broken, not that we lack access.
 */
async function openDb(dir: string): Promise<Db | { damaged: string }> {
  try {
    await makeDirs(dir);
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
    if (code === 'LEVEL_CORRUPTION' || (code === 'LEVEL_IO_ERROR' && (await dirIsUsable(dir)))) {
      return { damaged: causeMessage(err) };
    }
    throw new DhtNodeError('state_unreadable', `cannot open state store ${dir}: ${causeMessage(err)}`, { cause: err });
  }
}

/** Reads every key and value once, so a damaged table is found at open rather than mid-run. */
async function verifyAll(db: Db): Promise<void> {
  const it = db.iterator();
  try {
    while ((await it.nextv(VERIFY_CHUNK)).length > 0);
  } finally {
    await it.close().catch(() => undefined);
  }
}

/** A failure that means the files are damaged (as opposed to a policy error of ours). */
function isDamage(err: unknown): boolean {
  const code = levelCode(err);
  const own = errorCode(err);
  return (code !== undefined && code.startsWith('LEVEL_')) || own === 'state_write_failed' || own === 'state_read_failed';
}

/** Best effort: the node id of a damaged database, so a rebuild keeps our place in the keyspace. */
async function salvageNodeId(db: Db): Promise<Uint8Array | undefined> {
  try {
    const raw = await db.get(KEY_NODE_ID);
    return raw !== undefined && raw.length === ID_LENGTH ? Uint8Array.from(raw) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens (creating with parents) the LevelDB state store in `dir`, reads it through once and checks its
 * schema. A damaged database (LevelDB refuses it, or a read fails) is moved aside to `<dir>.corrupt-<n>`
 * and replaced by a fresh one with a warning, keeping the node id when it can still be read; the report
 * says where it went. Otherwise throws a DhtNodeError whose message is one line naming the path:
 * 'state_locked' (another process holds it), 'state_unreadable' (cannot create or read the directory),
 * 'state_version' (written by a newer schema), 'state_foreign' (a LevelDB that is not ours),
 * 'state_corrupt' (damaged and `onCorrupt: 'fail'`, or still failing after the rebuild).
 */
export async function openLevelStore(dir: string, deps: LevelStoreDeps = {}, options: LevelStoreOptions = {}): Promise<KvStateStore> {
  const log = deps.log ?? silentLogger;
  let movedTo: string | undefined;
  let nodeId: Uint8Array | undefined;
  let reason = 'unknown';
  for (let attempt = 0; attempt < 2; attempt++) {
    const db = await openDb(dir);
    if ('damaged' in db) {
      reason = db.damaged;
    } else {
      const store = new KvStateStore({ backend: new LevelKv(db, dir), log }, { label: dir, movedCorruptTo: movedTo });
      try {
        if (options.verify !== false) await verifyAll(db);
        await store.init();
        if (nodeId !== undefined) await store.setNodeId(nodeId);
        return store;
      } catch (err) {
        if (!isDamage(err)) {
          await db.close().catch(() => undefined);
          throw err;
        }
        reason = causeMessage(err);
        nodeId ??= await salvageNodeId(db);
        await db.close().catch(() => undefined);
      }
    }
    if (options.onCorrupt === 'fail' || attempt > 0) {
      throw new DhtNodeError('state_corrupt', `state store ${dir} is corrupt (${reason}); move it aside or delete it`);
    }
    movedTo = await moveAside(dir);
    log.warn('state store was corrupt; moved it aside and started a fresh one', { path: dir, movedTo, reason });
  }
  throw new DhtNodeError('state_corrupt', `state store ${dir} is corrupt (${reason}); move it aside or delete it`);
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
