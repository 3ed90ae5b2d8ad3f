import { describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { acceptMaybeEncrypted, MSE_HANDSHAKE_TIMEOUT_MS, type InboundEncryption, type MseStreamError } from '../../src/net/mse-stream.js';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseInitiator } from '../../src/wire/mse.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock } from '../support/fake-clock.js';
import { settle, streamPair } from '../support/stream-pair.js';
import { initiate } from './mse-initiate.js';

const IH = new Uint8Array(20).fill(0x31);
const BT_HANDSHAKE = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(8), Buffer.from(IH), Buffer.alloc(20, 0x41)]);

interface Accepted {
  err: MseStreamError | undefined;
  stream: Duplex | undefined;
  encryption: InboundEncryption | undefined;
  calls: number;
}

/** Our side on `server`, a scripted peer on `client`, on a fake clock. */
function setup(serve: Uint8Array[] = [IH]) {
  const clock = new FakeClock();
  const [server, client] = streamPair();
  const accepted: Accepted = { err: undefined, stream: undefined, encryption: undefined, calls: 0 };
  acceptMaybeEncrypted({ clock, random: new SeededRandom(1) }, { infohashes: () => serve }, server, (err, stream, encryption) => {
    accepted.calls++;
    Object.assign(accepted, { err, stream, encryption });
  });
  return { clock, server, client, accepted };
}

function collect(stream: Duplex): Buffer[] {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return chunks;
}

describe('acceptMaybeEncrypted', () => {
  it('hands a plaintext handshake on untouched: same stream, bytes in order, however split', async () => {
    const { client, server, accepted } = setup();
    client.write(BT_HANDSHAKE.subarray(0, 3));
    await settle();
    expect(accepted.calls).toBe(0);
    client.write(Buffer.concat([BT_HANDSHAKE.subarray(3), Buffer.from('after')]));
    await settle();
    expect(accepted.encryption).toBe('none');
    expect(accepted.stream).toBe(server);
    const got = collect(server);
    client.write('more');
    await settle();
    expect(Buffer.concat(got).toString('latin1')).toBe(`${BT_HANDSHAKE.toString('latin1')}aftermore`);
  });

  for (const [provide, expected] of [[CRYPTO_PLAINTEXT | CRYPTO_RC4, 'mse-plaintext'], [CRYPTO_RC4, 'mse-rc4']] as const) {
    it(`answers MSE offering ${provide} with ${expected}: initial payload first, then the rest, both ways`, async () => {
      const { client, accepted } = setup([new Uint8Array(20).fill(9), IH]);
      const init = new MseInitiator({ random: new SeededRandom(2) }, { infohash: IH, provide, initialPayload: BT_HANDSHAKE });
      const clientSide = initiate(client, init);
      await settle(10);
      const peer = await clientSide;
      expect(accepted.encryption).toBe(expected);
      const ours = accepted.stream;
      if (ours === undefined) throw new Error('not accepted');
      const got = collect(ours);
      const back = collect(peer);
      peer.write('after-handshake');
      ours.cork();
      ours.write('reply-');
      ours.write('corked');
      ours.uncork();
      await settle(10);
      expect(Buffer.concat(got).toString('latin1')).toBe(`${BT_HANDSHAKE.toString('latin1')}after-handshake`);
      expect(Buffer.concat(back).toString('latin1')).toBe('reply-corked');
      ours.destroy();
      await settle();
      expect(peer.destroyed || client.destroyed).toBe(true);
    });
  }

  it('the RC4 stream really is encrypted on the wire', async () => {
    const { client, accepted } = setup();
    const peer = await initiate(client, new MseInitiator({ random: new SeededRandom(3) }, { infohash: IH, provide: CRYPTO_RC4 }));
    // Ahead of the decrypting listener (which works in place), copy what the wire carries.
    const sniffed: Buffer[] = [];
    client.prependListener('data', (c: Buffer) => sniffed.push(Buffer.from(c)));
    const plain = collect(peer);
    accepted.stream?.write('secret-text-secret-text');
    await settle();
    const onWire = Buffer.concat(sniffed);
    expect(onWire).toHaveLength(23);
    expect(onWire.toString('latin1')).not.toContain('secret');
    expect(Buffer.concat(plain).toString('latin1')).toBe('secret-text-secret-text');
    peer.destroy();
  });

  it('RC4: megabytes both ways through backpressure come out intact and in order', async () => {
    const { client, accepted } = setup();
    const peer = await initiate(client, new MseInitiator({ random: new SeededRandom(5) }, { infohash: IH, provide: CRYPTO_RC4 }));
    await settle();
    const ours = accepted.stream;
    if (ours === undefined) throw new Error('not accepted');
    const up = new SeededRandom(6).bytes(3 << 20);
    const down = new SeededRandom(7).bytes(3 << 20);
    // Written in blocks, ignoring write() === false: both Duplexes must buffer and drain, not drop.
    for (let i = 0; i < up.length; i += 16384) peer.write(up.subarray(i, i + 16384));
    for (let i = 0; i < down.length; i += 65536) ours.write(down.subarray(i, i + 65536));
    // Nobody reads for a while: the socket side must pause rather than buffer without end.
    await settle(20);
    expect(ours.readableLength).toBeLessThan(up.length);
    const got = collect(ours);
    const back = collect(peer);
    for (let i = 0; i < 200 && (Buffer.concat(got).length < up.length || Buffer.concat(back).length < down.length); i++) await settle();
    expect(Buffer.concat(got).equals(Buffer.from(up))).toBe(true);
    expect(Buffer.concat(back).equals(Buffer.from(down))).toBe(true);
    peer.destroy();
  });

  it('refuses an infohash we do not serve, and destroys the socket', async () => {
    const { client, server, accepted } = setup([new Uint8Array(20).fill(7)]);
    const outcome = await initiate(client, new MseInitiator({ random: new SeededRandom(4) }, { infohash: IH })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    await settle();
    expect(accepted.err?.code).toBe('mse_unknown_infohash');
    expect(server.destroyed).toBe(true);
  });

  it('refuses an encrypted opening at once when we serve nothing yet', async () => {
    const { client, server, accepted } = setup([]);
    client.write(Buffer.alloc(96, 0x77));
    await settle();
    expect(accepted.err?.code).toBe('mse_unknown_infohash');
    expect(server.destroyed).toBe(true);
  });

  it('drops garbage and a flood before sync (mse_no_sync), without buffering it all', async () => {
    const { client, server, accepted } = setup();
    const flood = Buffer.alloc(4 << 20, 0x42);
    flood[0] = 0x13;
    client.write(flood);
    await settle(20);
    expect(accepted.err?.code).toBe('mse_no_sync');
    expect(server.destroyed).toBe(true);
    expect(accepted.calls).toBe(1);
  });

  it('times out on the injected clock, whether nothing came or half a handshake', async () => {
    for (const opening of [Buffer.alloc(0), BT_HANDSHAKE.subarray(0, 10), Buffer.alloc(120, 0x55)]) {
      const { client, server, clock, accepted } = setup();
      if (opening.length > 0) client.write(opening);
      await settle();
      clock.advance(MSE_HANDSHAKE_TIMEOUT_MS - 1);
      expect(accepted.calls).toBe(0);
      clock.advance(1);
      expect(accepted.err?.code).toBe('mse_timeout');
      expect(server.destroyed).toBe(true);
      expect(clock.pending).toBe(0);
    }
  });

  it('reports a peer that hangs up mid-handshake', async () => {
    const { client, accepted, clock } = setup();
    client.write(Buffer.alloc(50, 0x66));
    client.end();
    await settle();
    expect(accepted.err?.code).toBe('mse_closed');
    expect(clock.pending).toBe(0);
  });
});
