import { describe, expect, it } from 'vitest';
import { createTorrentFromMemory } from '../../src/app/create.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { StorageError } from '../../src/storage/piece-storage.js';
import type { PeerIdentity } from '../../src/swarm/ban-list.js';
import { PieceWriter } from '../../src/swarm/piece-writer.js';
import { SeededRandom } from '../../src/util/random.js';

const B = 16384;
const honest: PeerIdentity = { host: '10.0.0.1', peerId: 'aa' };
const liar: PeerIdentity = { host: '10.0.0.2', peerId: 'bb' };

function setup(maxBufferedPiece?: number) {
  const data = new SeededRandom(1).bytes(2 * 2 * B);
  const info = createTorrentFromMemory({}, { name: 'w.bin', data }, { pieceLength: 2 * B, creationDate: null }).metainfo;
  const storage = new MemoryStorage({}, { layout: info });
  const events: string[] = [];
  const writer = new PieceWriter({ storage, pieceSize: (i) => Math.min(2 * B, data.length - i * 2 * B) }, {
    verified: (i) => events.push(`ok ${i}`),
    failed: (i, senders) => events.push(`bad ${i} ${senders.map((s) => s.peerId).join(',')}`),
    proven: (c) => events.push(`proven ${c.map((s) => s.peerId).join(',')}`),
    fatal: (e) => events.push(`fatal ${(e as StorageError).code}`),
  }, maxBufferedPiece === undefined ? {} : { maxBufferedPiece });
  return { data, storage, writer, events };
}

describe.each([
  ['pieces assembled in memory', undefined],
  ['large pieces written block by block', 0],
])('PieceWriter: %s', (_name, maxBufferedPiece) => {
  const setupHere = () => setup(maxBufferedPiece);
  it('verifies a piece only after its writes, reports failures with senders, and proves the liar later', async () => {
    const { data, storage, writer, events } = setupHere();
    writer.accept(0, 0, data.slice(0, B), honest, false);
    writer.accept(0, B, data.slice(B, 2 * B), honest, true);
    writer.accept(1, 0, data.slice(2 * B, 3 * B), honest, false);
    writer.accept(1, B, new Uint8Array(B), liar, true);
    await writer.drain();
    expect(events).toEqual(['ok 0', 'bad 1 aa,bb']);
    expect(storage.have(0)).toBe(true);
    expect(storage.have(1)).toBe(false);
  });

  it('names the liar once the piece verifies from good data', async () => {
    const { data, writer, events } = setupHere();
    writer.accept(1, 0, data.slice(2 * B, 3 * B), honest, false);
    writer.accept(1, B, new Uint8Array(B), liar, true);
    writer.accept(1, 0, data.slice(2 * B, 3 * B), honest, false);
    writer.accept(1, B, data.slice(3 * B), honest, true);
    await writer.drain();
    expect(events).toEqual(['bad 1 aa,bb', 'ok 1', 'proven bb']);
  });

  it('reports a storage failure once, as fatal', async () => {
    const { storage, writer, events } = setupHere();
    await storage.close();
    for (const piece of [0, 1]) {
      writer.accept(piece, 0, new Uint8Array(B), honest, false);
      writer.accept(piece, B, new Uint8Array(B), honest, true);
    }
    await writer.drain();
    expect(events).toEqual(['fatal storage_closed']);
    expect(writer.failed).toBe(true);
  });
});

describe('PieceWriter with pieces in memory', () => {
  it('never writes a piece that fails its hash, and writes a good one in one go', async () => {
    const { data, storage, writer } = setup();
    writer.accept(1, 0, new Uint8Array(B), honest, false);
    writer.accept(1, B, new Uint8Array(B), honest, true);
    await writer.drain();
    expect(storage.stats().bytesWritten).toBe(0);
    writer.accept(0, B, data.slice(B, 2 * B), honest, false);
    writer.accept(0, 0, data.slice(0, B), honest, true);
    await writer.drain();
    expect(storage.have(0)).toBe(true);
    expect(storage.stats().bytesWritten).toBe(2 * B);
    expect(Buffer.from(await storage.readBlock(0, 0, 2 * B)).equals(Buffer.from(data.subarray(0, 2 * B)))).toBe(true);
  });
});

describe('PieceWriter buffer reuse', () => {
  it('assembles a piece correctly in a buffer that carried an earlier piece', async () => {
    const { data, storage, writer, events } = setup();
    writer.accept(0, 0, data.slice(0, B), honest, false);
    writer.accept(0, B, data.slice(B, 2 * B), honest, true);
    await writer.drain();
    // Piece 1 reuses piece 0's buffer; its blocks arrive last-first and must replace every old byte.
    writer.accept(1, B, data.slice(3 * B), honest, false);
    writer.accept(1, 0, data.slice(2 * B, 3 * B), honest, true);
    await writer.drain();
    expect(events).toEqual(['ok 0', 'ok 1']);
    expect(await storage.readBlock(0, 0, 2 * B)).toEqual(data.slice(0, 2 * B));
    expect(await storage.readBlock(1, 0, 2 * B)).toEqual(data.slice(2 * B));
  });
});
