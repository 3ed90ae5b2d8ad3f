/**
 * The StateStore contract, run against both implementations (memory-store.test.ts, level-store.test.ts):
 * round trips of every namespace, restart, replace-all, validation of saves, and records that are corrupt,
 * foreign or uncommitted on load.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/util/bytes.js';
import { errorCode } from '../../src/util/errors.js';
import { encodeU32 } from '../../src/state/record-codec.js';
import type { ContactRecord, PeerRecord, PoolRecord, StateStore } from '../../src/state/state-store.js';

/** How a test reaches one implementation's storage. `open` always opens the same underlying storage. */
export interface StoreHarness {
  open(): Promise<StateStore>;
  /** Writes raw bytes under a key while no store is open. */
  putRaw(key: string, value: Uint8Array): Promise<void>;
  rawKeys(): Promise<string[]>;
}

export function id(n: number, fill = 0): Uint8Array {
  const b = new Uint8Array(20).fill(fill);
  new DataView(b.buffer).setUint32(16, n);
  return b;
}

/** An address-record value as the codec lays it out: float64 time, u16 port, ASCII host. */
export function rawAddress(time: number, port: number, host: string): Uint8Array {
  const out = new Uint8Array(10 + host.length);
  const view = new DataView(out.buffer);
  view.setFloat64(0, time);
  view.setUint16(8, port);
  for (let i = 0; i < host.length; i++) out[10 + i] = host.charCodeAt(i);
  return out;
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return errorCode(err);
  }
  return 'no error';
}

const T0 = 1_700_000_000_000;

const contacts: ContactRecord[] = [
  { id: id(2), host: '10.0.0.2', port: 6881, lastSeen: T0 },
  { id: id(1), host: '2001:db8::1', port: 51413, lastSeen: T0 + 0.5 },
  { id: id(3, 0xff), host: '::ffff:192.0.2.1', port: 1, lastSeen: 0 },
];

const byHex = <T>(key: (r: T) => Uint8Array) => (a: T, b: T) => (toHex(key(a)) < toHex(key(b)) ? -1 : 1);

export function describeStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`StateStore contract: ${name}`, () => {
    it('starts empty and says it was created', async () => {
      const h = await makeHarness();
      const s = await h.open();
      expect(await s.getNodeId()).toBeUndefined();
      expect(await s.loadContacts()).toEqual({ entries: [], skipped: 0 });
      expect(await s.loadPeers(T0)).toEqual({ entries: [], skipped: 0, expired: 0 });
      expect(await s.loadPool()).toEqual({ entries: [], skipped: 0 });
      expect(s.loadReport().created).toBe(true);
      await s.close();
      const again = await h.open();
      expect(again.loadReport().created).toBe(false);
      await again.close();
    });

    it('round-trips node id, contacts, peers and pool across a restart', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.setNodeId(id(42, 7));
      await s.saveContacts(contacts);
      const peers: PeerRecord[] = [
        { infoHash: id(9), host: '10.0.0.9', port: 1000, expiresAt: T0 + 60_000 },
        { infoHash: id(9), host: '10.0.0.9', port: 1001, expiresAt: T0 + 60_000 },
        { infoHash: id(9), host: 'fe80::1', port: 1000, expiresAt: T0 + 1 },
        { infoHash: id(8), host: '10.0.0.8', port: 80, expiresAt: T0 - 1 },
        { infoHash: id(7), host: '10.0.0.7', port: 80, expiresAt: T0 },
      ];
      await s.savePeers(peers);
      const pool: PoolRecord[] = [{ id: id(5), host: '192.0.2.5', port: 6881, addedAt: T0 }];
      await s.savePool(pool);
      await s.close();

      const r = await h.open();
      expect(await r.getNodeId()).toEqual(id(42, 7));
      expect(await r.loadContacts()).toEqual({ entries: [...contacts].sort(byHex((c) => c.id)), skipped: 0 });
      const loaded = await r.loadPeers(T0);
      expect(loaded.skipped).toBe(0);
      expect(loaded.expired).toBe(2);
      expect(new Set(loaded.entries.map((p) => `${toHex(p.infoHash)} ${p.host} ${p.port}`))).toEqual(
        new Set(peers.slice(0, 3).map((p) => `${toHex(p.infoHash)} ${p.host} ${p.port}`)),
      );
      expect(await r.loadPool()).toEqual({ entries: pool, skipped: 0 });
      expect(r.loadReport().namespaces.contact).toEqual({ loaded: 3, skipped: 0, readErrors: 0 });
      await r.close();
    });

    it('replaces the whole saved set and leaves one generation on disk', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.saveContacts(contacts);
      const next = [{ id: id(77), host: '10.1.1.1', port: 9, lastSeen: T0 }];
      await s.saveContacts(next);
      expect((await s.loadContacts()).entries).toEqual(next);
      await s.saveContacts([]);
      expect((await s.loadContacts()).entries).toEqual([]);
      await s.close();
      expect((await h.rawKeys()).filter((k) => k.startsWith('contact!'))).toEqual([]);
    });

    it('collapses records with the same key to the last one', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.savePool([
        { id: id(1), host: '10.0.0.1', port: 1, addedAt: 1 },
        { id: id(1), host: '10.0.0.2', port: 2, addedAt: 2 },
      ]);
      expect((await s.loadPool()).entries).toEqual([{ id: id(1), host: '10.0.0.2', port: 2, addedAt: 2 }]);
      await s.close();
    });

    it('rejects an invalid record on save and keeps the previous set', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.saveContacts(contacts);
      const bad: ContactRecord[] = [
        { id: new Uint8Array(19), host: '10.0.0.1', port: 1, lastSeen: 0 },
        { id: id(1), host: 'example.com', port: 1, lastSeen: 0 },
        { id: id(1), host: '10.0.0.1', port: 0, lastSeen: 0 },
        { id: id(1), host: '10.0.0.1', port: 65536, lastSeen: 0 },
        { id: id(1), host: '10.0.0.1', port: 1, lastSeen: Number.NaN },
      ];
      for (const b of bad) expect(await code(s.saveContacts([contacts[0] as ContactRecord, b]))).toBe('state_invalid_record');
      expect(await code(s.setNodeId(new Uint8Array(21)))).toBe('state_invalid_record');
      expect((await s.loadContacts()).entries).toHaveLength(3);
      await s.close();
      expect((await h.rawKeys()).filter((k) => k.startsWith('contact!'))).toHaveLength(3);
    });

    it('round-trips a 20,000-entry pool', async () => {
      const h = await makeHarness();
      const s = await h.open();
      const pool: PoolRecord[] = Array.from({ length: 20_000 }, (_, i) => ({
        id: id(i),
        host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        port: 1 + (i % 65535),
        addedAt: T0 + i,
      }));
      await s.savePool(pool);
      await s.close();
      const r = await h.open();
      const loaded = await r.loadPool();
      expect(loaded.skipped).toBe(0);
      expect(loaded.entries).toEqual(pool);
      await r.close();
    });

    it('skips and counts corrupt and foreign records on load', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.saveContacts([contacts[0] as ContactRecord]);
      await s.savePeers([{ infoHash: id(9), host: '10.0.0.9', port: 1000, expiresAt: T0 + 1 }]);
      await s.savePool([{ id: id(5), host: '192.0.2.5', port: 6881, addedAt: T0 }]);
      await s.close();
      const g = '00000001';
      const good = rawAddress(T0, 80, '10.0.0.1');
      const bad: Array<[string, Uint8Array]> = [
        [`contact!${g}!${toHex(id(10))}`, good.subarray(0, 11)], // truncated
        [`contact!${g}!${toHex(id(11))}`, rawAddress(T0, 0, '10.0.0.1')], // port 0
        [`contact!${g}!${toHex(id(12))}`, rawAddress(T0, 80, 'not-an-ip')],
        [`contact!${g}!${toHex(id(13))}`, rawAddress(Number.NaN, 80, '10.0.0.1')],
        [`contact!${g}!${toHex(id(14))}`, rawAddress(Number.POSITIVE_INFINITY, 80, '10.0.0.1')],
        [`contact!${g}!${toHex(id(15)).toUpperCase()}`, good],
        [`contact!${g}!${toHex(id(16)).slice(2)}`, good], // 19-byte id
        [`contact!${g}!${toHex(id(17))}!extra`, good],
        [`contact!${g}!${toHex(id(18))}`, rawAddress(T0, 80, '10.0.0.1\n')],
        [`contact!${g}!${toHex(id(19))}`, new Uint8Array(200)],
        [`peer!${g}!${toHex(id(9))}!10.0.0.2:80`, good], // key and value disagree
        [`peer!${g}!${toHex(id(9))}`, good], // no address part
        [`peer!${g}!zz!10.0.0.1:80`, good],
        [`pool!${g}!${toHex(id(6))}`, rawAddress(T0, 80, '')],
        [`pool!${g}!${toHex(id(7))}`, new Uint8Array(0)],
        ['node!id', new Uint8Array(19)],
      ];
      for (const [k, v] of bad) await h.putRaw(k, v);
      const r = await h.open();
      expect(await r.getNodeId()).toBeUndefined();
      expect(await r.loadContacts()).toEqual({ entries: [contacts[0]], skipped: 10 });
      const peers = await r.loadPeers(T0);
      expect(peers.entries).toHaveLength(1);
      expect(peers.skipped).toBe(3);
      expect((await r.loadPool()).skipped).toBe(2);
      const report = r.loadReport();
      expect(report.namespaces.node.skipped).toBe(1);
      expect(report.namespaces.contact).toEqual({ loaded: 1, skipped: 10, readErrors: 0 });
      expect(report.namespaces.pool).toEqual({ loaded: 1, skipped: 2, readErrors: 0 });
      await r.close();
    });

    it('skips arbitrary garbage in the current generation without throwing', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.saveContacts([contacts[0] as ContactRecord]);
      await s.close();
      // Fixed seed: the same hostile records on every run.
      const arb = fc.tuple(fc.string({ maxLength: 50 }), fc.uint8Array({ maxLength: 90 }));
      const samples = fc.sample(arb, { numRuns: 200, seed: 20261121 });
      for (const [k, v] of samples) await h.putRaw(`contact!00000001!${k}`, v);
      const r = await h.open();
      const loaded = await r.loadContacts();
      expect(loaded.entries).toContainEqual(contacts[0]);
      for (const c of loaded.entries) {
        expect(c.id).toHaveLength(20);
        expect(c.port).toBeGreaterThan(0);
        expect(Number.isFinite(c.lastSeen)).toBe(true);
      }
      expect(loaded.skipped + loaded.entries.length).toBeGreaterThan(1);
      await r.close();
    });

    it('discards a save that never committed', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.saveContacts([contacts[0] as ContactRecord]);
      await s.close();
      // A crash after writing generation 2's records but before moving meta!gen!contact.
      await h.putRaw(`contact!00000002!${toHex(id(50))}`, rawAddress(T0, 80, '10.0.0.50'));
      const r = await h.open();
      expect((await r.loadContacts()).entries).toEqual([contacts[0]]);
      expect(r.loadReport().discardedUncommitted).toBe(1);
      await r.close();
      expect((await h.rawKeys()).filter((k) => k.startsWith('contact!00000002'))).toEqual([]);
    });

    it('counts keys of no namespace and leaves them alone', async () => {
      const h = await makeHarness();
      const s = await h.open();
      await s.setNodeId(id(1));
      await s.close();
      await h.putRaw('aaa', new Uint8Array([1]));
      await h.putRaw('zzz!x', new Uint8Array([1]));
      await h.putRaw('metadata', new Uint8Array([1]));
      const r = await h.open();
      expect(r.loadReport().foreignKeys).toBe(3);
      expect(await r.getNodeId()).toEqual(id(1));
      await r.close();
    });

    it('refuses a store written by a newer schema', async () => {
      const h = await makeHarness();
      await (await h.open()).close();
      await h.putRaw('meta!schema', encodeU32(2));
      const err = await h.open().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(errorCode(err)).toBe('state_version');
      expect(err?.message).not.toContain('\n');
    });

    it('rebuilds a store of an older schema or a damaged schema key', async () => {
      for (const schema of [encodeU32(0), new Uint8Array([1, 2, 3])]) {
        const h = await makeHarness();
        const s = await h.open();
        await s.setNodeId(id(3));
        await s.savePool([{ id: id(5), host: '192.0.2.5', port: 6881, addedAt: T0 }]);
        await s.close();
        await h.putRaw('meta!schema', schema);
        const r = await h.open();
        expect(r.loadReport().rebuiltFromVersion).toBe(schema.length === 4 ? 0 : -1);
        expect(await r.getNodeId()).toBeUndefined();
        expect((await r.loadPool()).entries).toEqual([]);
        await r.close();
        const again = await h.open();
        expect(again.loadReport().rebuiltFromVersion).toBeUndefined();
        await again.close();
      }
    });

    it('refuses a database that is not ours, and adopts ours that lost its schema key', async () => {
      const foreign = await makeHarness();
      await foreign.putRaw('hello', new Uint8Array([1]));
      expect(await code(foreign.open())).toBe('state_foreign');

      const ours = await makeHarness();
      await ours.putRaw('node!id', id(4));
      const s = await ours.open();
      expect(await s.getNodeId()).toEqual(id(4));
      expect(s.loadReport().created).toBe(false);
      await s.close();
      expect(await ours.rawKeys()).toContain('meta!schema');
    });

    it('gives state_locked to a second opener and state_closed after close', async () => {
      const h = await makeHarness();
      const s = await h.open();
      expect(await code(h.open())).toBe('state_locked');
      await s.close();
      expect(await code(s.loadPool())).toBe('state_closed');
      expect(await code(s.getNodeId())).toBe('state_closed');
      const r = await h.open();
      await r.close();
    });

    it('round-trips arbitrary valid contact sets (property, fixed seed)', async () => {
      const h = await makeHarness();
      const arbHost = fc.oneof(fc.ipV4(), fc.ipV6());
      const arbContact = fc.record({
        id: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        host: arbHost,
        port: fc.integer({ min: 1, max: 65535 }),
        lastSeen: fc.double({ noNaN: true, noDefaultInfinity: true }),
      });
      const s = await h.open();
      await fc.assert(
        fc.asyncProperty(fc.array(arbContact, { maxLength: 30 }), async (cs) => {
          await s.saveContacts(cs);
          const byKey = new Map(cs.map((c) => [toHex(c.id), c]));
          const expected = [...byKey.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, c]) => c);
          const loaded = await s.loadContacts();
          expect(loaded.skipped).toBe(0);
          expect(loaded.entries.map((c) => ({ ...c, lastSeen: Object.is(c.lastSeen, -0) ? 0 : c.lastSeen }))).toEqual(
            expected.map((c) => ({ ...c, lastSeen: Object.is(c.lastSeen, -0) ? 0 : c.lastSeen })),
          );
        }),
        { seed: 424242, numRuns: 60 },
      );
      await s.close();
    });
  });
}
