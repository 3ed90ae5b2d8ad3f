import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeHttpGet } from '../../src/tracker/http-get.js';
import { TrackerError } from '../../src/tracker/tracker-error.js';
import { fromUtf8 } from '../../src/util/bytes.js';

let server: Server | undefined;
/** Closes the current server, if any (a server already closed still calls back). */
async function stopServer(): Promise<void> {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
}
afterEach(stopServer);

/** A loopback HTTP server on port 0; returns its base URL. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TrackerError);
  return (err as TrackerError).code;
}

describe('nodeHttpGet over loopback', () => {
  it('reads the body, status, redirect location, and sends the raw query as given', async () => {
    let seenUrl = '';
    const base = await serve((req, res) => {
      seenUrl = req.url ?? '';
      res.writeHead(302, { location: '/elsewhere' }).end('d8:intervali5ee');
    });
    const r = await nodeHttpGet(`${base}/announce?info_hash=%00%FFa`, { signal: new AbortController().signal, maxBytes: 1000 });
    expect(r.status).toBe(302);
    expect(r.location).toBe('/elsewhere');
    expect(fromUtf8(r.body)).toBe('d8:intervali5ee');
    expect(seenUrl).toBe('/announce?info_hash=%00%FFa');
  });

  it('stops reading a body past maxBytes (declared or streamed)', async () => {
    const declared = await serve((_req, res) => res.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000)));
    expect(await codeOf(nodeHttpGet(declared, { signal: new AbortController().signal, maxBytes: 1000 }))).toBe('tracker_bad_reply');
    await stopServer();
    const streamed = await serve((_req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(800));
      res.end('y'.repeat(800));
    });
    expect(await codeOf(nodeHttpGet(streamed, { signal: new AbortController().signal, maxBytes: 1000 }))).toBe('tracker_bad_reply');
  });

  it('reports a refused connection as tracker_unreachable', async () => {
    const base = await serve((_req, res) => res.end());
    await stopServer();
    expect(await codeOf(nodeHttpGet(base, { signal: new AbortController().signal, maxBytes: 1000 }))).toBe('tracker_unreachable');
  });

  it('rejects with the abort reason when aborted mid-request', async () => {
    const base = await serve(() => undefined); // never answers
    const controller = new AbortController();
    const p = nodeHttpGet(base, { signal: controller.signal, maxBytes: 1000 });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
  });

  it('refuses schemes other than http and https', async () => {
    expect(await codeOf(nodeHttpGet('udp://127.0.0.1:1/', { signal: new AbortController().signal, maxBytes: 10 }))).toBe('tracker_unsupported_scheme');
  });
});
