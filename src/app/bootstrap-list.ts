/**
 * The default bootstrap routers live in bootstrap/nodes.txt (data, not code), so an operator can read and
 * change them. Host names are resolved when a node starts; one that does not resolve is skipped.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { PeerAddress } from '../codec/compact.js';

/** bootstrap/nodes.txt in the package (two levels above dist/app/). */
export const DEFAULT_BOOTSTRAP_FILE = new URL('../../bootstrap/nodes.txt', import.meta.url);

export interface HostPortName {
  host: string;
  port: number;
}

/** Parses the list format: one host:port a line, `#` comments and blank lines ignored. */
export function parseBootstrapList(text: string): HostPortName[] {
  const out: HostPortName[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(line);
    const port = m ? Number(m[2]) : 0;
    if (m && port >= 1 && port <= 65535) out.push({ host: m[1] as string, port });
  }
  return out;
}

export async function readDefaultBootstrapList(): Promise<HostPortName[]> {
  return parseBootstrapList(await readFile(DEFAULT_BOOTSTRAP_FILE, 'utf8'));
}

/**
 * Resolves names to addresses of one family (the socket's); literals of the other family are left out, and
 * so are names that do not resolve (reported through `onSkip`).
 */
export async function resolveBootstrap(list: readonly HostPortName[], family: 4 | 6, onSkip: (host: string, err: unknown) => void): Promise<PeerAddress[]> {
  const resolved = await Promise.all(
    list.map(async (e) => {
      const literal = isIP(e.host);
      if (literal !== 0) return literal === family ? { host: e.host, port: e.port } : undefined;
      try {
        const { address } = await dnsLookup(e.host, { family });
        return { host: address, port: e.port };
      } catch (err) {
        onSkip(e.host, err);
        return undefined;
      }
    }),
  );
  return resolved.filter((a): a is PeerAddress => a !== undefined);
}
