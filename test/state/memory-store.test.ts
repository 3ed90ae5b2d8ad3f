import { describe, expect, it } from 'vitest';
import { compareKeys, MemoryKv, openMemoryStore } from '../../src/state/memory-store.js';
import { describeStoreContract, type StoreHarness } from './store-contract.js';

describeStoreContract('memory', async (): Promise<StoreHarness> => {
  const kv = new MemoryKv();
  return {
    open: () => openMemoryStore({}, { kv }),
    putRaw: async (key, value) => kv.putRaw(key, value),
    rawKeys: async () => kv.rawKeys(),
  };
});

describe('compareKeys', () => {
  it('orders strings as LevelDB orders their UTF-8 bytes', () => {
    const keys = ['a', 'ab', 'b', '!', '\u00ff', '\uffff', '\u{1f600}', '\ue000', '\ud7ff', ''];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
  });
});
