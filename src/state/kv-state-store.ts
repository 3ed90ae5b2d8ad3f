/**
 * The StateStore core over any ordered key-value backend: schema check on open, replace-all saves under a
 * committed generation, and loads that validate every record. LevelDB and the in-memory store are thin
 * backends under this one class, so their semantics cannot drift apart. Reasoning in docs/state.md.
 */
import { DecodeError, DhtNodeError, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { KvBackend, KvOp } from './kv.js';
import {
  decodeContact,
  decodeNodeId,
  decodePeer,
  decodePool,
  decodeU32,
  encodeContact,
  encodePeer,
  encodePool,
  encodeU32,
  genHex,
  genKey,
  genRange,
  ID_LENGTH,
  KEY_NODE_ID,
  KEY_SCHEMA,
  KNOWN_PREFIXES,
  prefixRange,
  SCHEMA_VERSION,
  SET_NAMESPACES,
  type EncodedRecord,
  type KeyRange,
  type SetNamespace,
} from './record-codec.js';
import type {
  ContactRecord,
  LoadResult,
  PeerLoadResult,
  PeerRecord,
  PoolRecord,
  StateReport,
  StateStore,
} from './state-store.js';

/** Operations per write batch: bounds the memory of one LevelDB WriteBatch (~1 MB at ~100 B a record). */
export const WRITE_BATCH_MAX = 10_000;

/** Entries fetched per iterator step on load: bounded memory, few native round trips. */
export const READ_CHUNK = 1_000;

/** How many keys of a store without a schema key are sampled to decide whether it is ours. */
const FOREIGN_SAMPLE = 100;

/** Generations are u32 in their key; wrap long before that (a save a second lasts 136 years). */
const MAX_GENERATION = 0xffff_ffff;

export interface KvStateStoreDeps {
  readonly backend: KvBackend;
  readonly log: Logger;
}

export interface KvStateStoreOptions {
  /** Names the store in every error message and warning (the directory for LevelDB). */
  readonly label: string;
  /** Set by the LevelDB opener when it moved a corrupt database aside before this one was created. */
  readonly movedCorruptTo?: string | undefined;
}

function emptyReport(): StateReport {
  const ns = (): { loaded: number; skipped: number; readErrors: number } => ({ loaded: 0, skipped: 0, readErrors: 0 });
  return {
    created: false,
    foreignKeys: 0,
    discardedUncommitted: 0,
    namespaces: { node: ns(), contact: ns(), peer: ns(), pool: ns() },
  };
}

/** The gaps between the known prefixes: any key in them belongs to no namespace of this schema. */
function foreignRanges(): KeyRange[] {
  const ranges: KeyRange[] = [];
  let from: string | undefined;
  for (const prefix of KNOWN_PREFIXES) {
    const r = prefixRange(prefix);
    ranges.push(from === undefined ? { lt: r.gte } : { gte: from, lt: r.gte });
    from = r.lt;
  }
  ranges.push({ gte: from });
  return ranges;
}

export class KvStateStore implements StateStore {
  private readonly backend: KvBackend;
  private readonly log: Logger;
  private readonly label: string;
  private readonly report: StateReport = emptyReport();
  private readonly committed: Record<SetNamespace, number> = { contact: 0, peer: 0, pool: 0 };
  /** Saves of one namespace run one after another (a generation is claimed per save). */
  private readonly queues: Record<SetNamespace, Promise<unknown>> = {
    contact: Promise.resolve(),
    peer: Promise.resolve(),
    pool: Promise.resolve(),
  };
  private closed = false;

  constructor(deps: KvStateStoreDeps, options: KvStateStoreOptions) {
    this.backend = deps.backend;
    this.log = deps.log;
    this.label = options.label;
    if (options.movedCorruptTo !== undefined) this.report.movedCorruptTo = options.movedCorruptTo;
  }

  /**
   * Checks the schema and tidies the store; call once before use (the open helpers do). Throws
   * 'state_version' for a store written by a newer schema and 'state_foreign' for a database that is not
   * ours; everything else (an older schema, a damaged meta record, an interrupted save) is repaired.
   */
  async init(): Promise<void> {
    await this.checkSchema();
    for (const ns of SET_NAMESPACES) await this.initNamespace(ns);
    for (const range of foreignRanges()) {
      for await (const keys of this.backend.keys(range, READ_CHUNK)) this.report.foreignKeys += keys.length;
    }
    if (this.report.foreignKeys > 0) {
      this.log.warn('state store holds keys of no known namespace; leaving them', {
        path: this.label,
        keys: this.report.foreignKeys,
      });
    }
  }

  private async checkSchema(): Promise<void> {
    const raw = await this.backend.get(KEY_SCHEMA);
    if (raw === undefined) {
      const sample: string[] = [];
      for await (const keys of this.backend.keys({}, FOREIGN_SAMPLE)) {
        sample.push(...keys);
        break;
      }
      if (sample.length === 0) {
        this.report.created = true;
      } else if (sample.some((k) => KNOWN_PREFIXES.some((p) => k.startsWith(`${p}!`)))) {
        this.log.warn('state store lost its schema key; rewriting it', { path: this.label });
      } else {
        throw new DhtNodeError(
          'state_foreign',
          `state store ${this.label} holds data but no dht-node schema key: not a dht-node state directory`,
        );
      }
      await this.backend.batch([{ type: 'put', key: KEY_SCHEMA, value: encodeU32(SCHEMA_VERSION) }]);
      return;
    }
    let version: number;
    try {
      version = decodeU32(raw);
    } catch {
      this.log.warn('state store schema key is damaged; rebuilding', { path: this.label });
      await this.rebuild(-1);
      return;
    }
    if (version > SCHEMA_VERSION) {
      throw new DhtNodeError(
        'state_version',
        `state store ${this.label} has schema version ${version}, newer than this dht-node reads (${SCHEMA_VERSION}); ` +
          'use a newer dht-node or another --state-dir',
      );
    }
    if (version < SCHEMA_VERSION) {
      // No migrations exist yet: everything but the node id is a cache of the network, so an older store is
      // rebuilt. A future schema adds a migration step here for state worth carrying over.
      this.log.warn('state store has an older schema; rebuilding', { path: this.label, from: version });
      await this.rebuild(version);
    }
  }

  /** Deletes every key this schema owns and writes the current schema key. */
  private async rebuild(fromVersion: number): Promise<void> {
    for (const prefix of KNOWN_PREFIXES) await this.backend.clear(prefixRange(prefix));
    await this.backend.batch([{ type: 'put', key: KEY_SCHEMA, value: encodeU32(SCHEMA_VERSION) }]);
    this.report.rebuiltFromVersion = fromVersion;
  }

  /** Reads the committed generation and removes records of saves that never committed. */
  private async initNamespace(ns: SetNamespace): Promise<void> {
    const raw = await this.backend.get(genKey(ns));
    let gen = 0;
    if (raw !== undefined) {
      try {
        gen = decodeU32(raw);
      } catch {
        this.report.namespaces[ns].skipped += 1;
        this.log.warn('state store generation key is damaged; treating the saved set as empty', { path: this.label, ns });
      }
    }
    this.committed[ns] = gen;
    for (const range of this.outsideGeneration(ns, gen)) {
      let n = 0;
      for await (const keys of this.backend.keys(range, READ_CHUNK)) n += keys.length;
      if (n > 0) {
        this.report.discardedUncommitted += n;
        await this.backend.clear(range);
      }
    }
  }

  /** The parts of a namespace's range that are not generation `gen`. */
  private outsideGeneration(ns: SetNamespace, gen: number): KeyRange[] {
    const all = prefixRange(ns);
    if (gen === 0) return [all];
    const g = genRange(ns, gen);
    return [
      { gte: all.gte, lt: g.gte },
      { gte: g.lt, lt: all.lt },
    ];
  }

  private assertOpen(): void {
    if (this.closed) throw new DhtNodeError('state_closed', `state store ${this.label} is closed`);
  }

  async getNodeId(): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const raw = await this.backend.get(KEY_NODE_ID);
    if (raw === undefined) return undefined;
    try {
      const id = decodeNodeId(raw);
      this.report.namespaces.node.loaded = 1;
      return id;
    } catch {
      this.report.namespaces.node.skipped += 1;
      this.log.warn('state store node id is damaged; ignoring it', { path: this.label });
      return undefined;
    }
  }

  async setNodeId(id: Uint8Array): Promise<void> {
    this.assertOpen();
    if (!(id instanceof Uint8Array) || id.length !== ID_LENGTH) {
      throw new DhtNodeError('state_invalid_record', `node id must be ${ID_LENGTH} bytes`);
    }
    await this.backend.batch([{ type: 'put', key: KEY_NODE_ID, value: Uint8Array.from(id) }]);
  }

  saveContacts(contacts: Iterable<ContactRecord>): Promise<void> {
    return this.saveSet('contact', contacts, encodeContact);
  }

  async loadContacts(): Promise<LoadResult<ContactRecord>> {
    const r = await this.loadSet('contact', decodeContact, () => true);
    return { entries: r.entries, skipped: r.skipped };
  }

  savePeers(entries: Iterable<PeerRecord>): Promise<void> {
    return this.saveSet('peer', entries, encodePeer);
  }

  async loadPeers(now: number): Promise<PeerLoadResult> {
    return this.loadSet('peer', decodePeer, (p) => p.expiresAt > now);
  }

  savePool(entries: Iterable<PoolRecord>): Promise<void> {
    return this.saveSet('pool', entries, encodePool);
  }

  async loadPool(): Promise<LoadResult<PoolRecord>> {
    const r = await this.loadSet('pool', decodePool, () => true);
    return { entries: r.entries, skipped: r.skipped };
  }

  loadReport(): StateReport {
    return structuredClone(this.report);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(SET_NAMESPACES.map((ns) => this.queues[ns]));
    await this.backend.close();
  }

  /**
   * Replace-all: write the new set under generation g+1 in bounded batches, then commit by moving the
   * generation key in the last batch, then clear generation g. A crash before the commit leaves g intact
   * (the partial g+1 is discarded on the next open); after it, g+1 is whole.
   */
  private saveSet<T>(ns: SetNamespace, records: Iterable<T>, encode: (gen: number, r: T) => EncodedRecord): Promise<void> {
    this.assertOpen();
    const run = this.queues[ns].then(() => this.writeGeneration(ns, records, encode));
    this.queues[ns] = run.catch(() => undefined);
    return run;
  }

  private async writeGeneration<T>(
    ns: SetNamespace,
    records: Iterable<T>,
    encode: (gen: number, r: T) => EncodedRecord,
  ): Promise<void> {
    const old = this.committed[ns];
    const gen = old >= MAX_GENERATION ? 1 : old + 1;
    await this.backend.clear(genRange(ns, gen));
    let ops: KvOp[] = [];
    try {
      for (const record of records) {
        const { key, value } = encode(gen, record);
        ops.push({ type: 'put', key, value });
        if (ops.length >= WRITE_BATCH_MAX) {
          await this.backend.batch(ops);
          ops = [];
        }
      }
    } catch (err) {
      await this.backend.clear(genRange(ns, gen));
      throw err;
    }
    ops.push({ type: 'put', key: genKey(ns), value: encodeU32(gen) });
    await this.backend.batch(ops);
    this.committed[ns] = gen;
    for (const range of this.outsideGeneration(ns, gen)) await this.backend.clear(range);
  }

  private async loadSet<T>(
    ns: SetNamespace,
    decode: (key: string, value: Uint8Array, prefixLength: number) => T,
    keep: (r: T) => boolean,
  ): Promise<{ entries: T[]; skipped: number; expired: number }> {
    this.assertOpen();
    await this.queues[ns];
    const entries: T[] = [];
    let skipped = 0;
    let expired = 0;
    const gen = this.committed[ns];
    const nsReport = this.report.namespaces[ns];
    if (gen !== 0) {
      const prefixLength = `${ns}!${genHex(gen)}!`.length;
      try {
        for await (const chunk of this.backend.entries(genRange(ns, gen), READ_CHUNK)) {
          for (const [key, value] of chunk) {
            let record: T;
            try {
              record = decode(key, value, prefixLength);
            } catch (err) {
              if (!(err instanceof DecodeError)) throw err;
              skipped += 1;
              continue;
            }
            if (keep(record)) entries.push(record);
            else expired += 1;
          }
        }
      } catch (err) {
        // A damaged block inside the database: keep what was read, count it, go on (docs/state.md).
        nsReport.readErrors += 1;
        this.log.warn('state store read failed; keeping the records read before it', {
          path: this.label,
          ns,
          error: errorMessage(err),
        });
      }
    }
    if (skipped > 0) this.log.warn('state store skipped invalid records', { path: this.label, ns, skipped });
    nsReport.loaded = entries.length;
    nsReport.skipped += skipped;
    return { entries, skipped, expired };
  }
}
