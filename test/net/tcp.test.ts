import { describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { dialTcp, listenTcp, TcpError } from '../../src/net/tcp.js';
import { SystemClock } from '../../src/util/clock.js';
import { FakeClock } from '../support/fake-clock.js';

function readSome(stream: Duplex): Promise<string> {
  return new Promise((resolve) => stream.once('data', (d: Buffer) => resolve(d.toString())));
}

describe('tcp', () => {
  it('listens on loopback port 0 and carries bytes both ways', async () => {
    const accepted: Array<{ host: string; port: number }> = [];
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, (stream, remote) => {
      accepted.push(remote);
      stream.on('data', (d: Buffer) => stream.write(`echo:${d.toString()}`));
    });
    expect(listener.port).toBeGreaterThan(0);
    const client = await dialTcp({ clock: new SystemClock() }, { host: '127.0.0.1', port: listener.port, localAddress: '127.0.0.1' });
    const reply = readSome(client);
    client.write('hi');
    expect(await reply).toBe('echo:hi');
    expect(accepted[0]?.host).toBe('127.0.0.1');
    client.destroy();
    await listener.close();
  });

  it('a dialled socket lends its chunks, yet delivers every byte in order, also those read before a listener', async () => {
    const sent = new Uint8Array(3 << 20).map((_, i) => (i * 7 + (i >> 13)) & 0xff);
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, (stream) => {
      // A first part at once, the rest when the client asks: read with and without a listener.
      stream.write(sent.subarray(0, 1 << 20));
      stream.once('data', () => stream.end(sent.subarray(1 << 20)));
    });
    const client = await dialTcp({ clock: new SystemClock() }, { host: '127.0.0.1', port: listener.port });
    // No listener yet: what arrives meanwhile must be kept as a copy, not as a view of the read buffer.
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.write('go');
    const copies: Uint8Array[] = [];
    const views: Uint8Array[] = [];
    client.on('data', (d: Uint8Array) => {
      copies.push(Uint8Array.from(d));
      views.push(d);
    });
    await new Promise((resolve) => client.once('end', resolve));
    expect(Buffer.compare(Buffer.concat(copies), sent)).toBe(0);
    // The views were borrowed: most no longer hold what was read into them.
    expect(views.filter((v, i) => Buffer.compare(v, copies[i] as Uint8Array) !== 0).length).toBeGreaterThan(0);
    client.destroy();
    await listener.close();
  });

  it('reports a refused connection with a code', async () => {
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, (s) => s.destroy());
    const port = listener.port;
    await listener.close();
    const err = await dialTcp({ clock: new SystemClock() }, { host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TcpError);
    expect((err as TcpError).code).toBe('tcp_connect');
  });

  it('fails to listen on a port in use', async () => {
    const a = await listenTcp({ host: '127.0.0.1', port: 0 }, () => {});
    const err = await listenTcp({ host: '127.0.0.1', port: a.port }, () => {}).catch((e: unknown) => e);
    expect((err as TcpError).code).toBe('tcp_listen');
    await a.close();
  });

  it('aborts a dial on the signal, and times out on the clock', async () => {
    const ac = new AbortController();
    ac.abort();
    const aborted = await dialTcp({ clock: new SystemClock() }, { host: '127.0.0.1', port: 9, signal: ac.signal }).catch((e: unknown) => e);
    expect((aborted as TcpError).code).toBe('tcp_aborted');
    // The fake clock fires the timeout synchronously, before the event loop can deliver 'connect'.
    const clock = new FakeClock();
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 }, () => {});
    const pending = dialTcp({ clock }, { host: '127.0.0.1', port: listener.port, timeoutMs: 1000 }).catch((e: unknown) => e);
    clock.advance(999);
    clock.advance(1);
    const result = await pending;
    expect((result as TcpError).code).toBe('tcp_timeout');
    expect(clock.pending).toBe(0);
    await listener.close();
  });
});
