/** Argument parsing shared by commands: addresses, rates, and the option groups of CLI.md. */
import { isIP } from 'node:net';
import { CliError, EXIT } from './exit-codes.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host:port`, `[v6]:port` or `v6-literal:port`; ports 1..65535. */
export function parseHostPort(text: string, what = 'address'): HostPort {
  const trimmed = text.trim();
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  if (bracket) {
    host = bracket[1] as string;
    portText = bracket[2] as string;
  } else {
    const i = trimmed.lastIndexOf(':');
    if (i <= 0) throw new CliError('bad_address', `${what} "${text}" is not host:port`, EXIT.usage);
    host = trimmed.slice(0, i);
    portText = trimmed.slice(i + 1);
    if (host.includes(':') && isIP(host) !== 6) {
      throw new CliError('bad_address', `${what} "${text}": write IPv6 addresses as [addr]:port`, EXIT.usage);
    }
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new CliError('bad_address', `${what} "${text}" has no valid port (1-65535)`, EXIT.usage);
  if (host.length === 0) throw new CliError('bad_address', `${what} "${text}" has no host`, EXIT.usage);
  return { host, port };
}

/** Repeatable and comma-separated address lists: `--peer a:1 --peer b:2,c:3`. */
export function parseHostPortList(values: readonly string[] | string | undefined, what: string): HostPort[] {
  if (values === undefined) return [];
  const list = Array.isArray(values) ? values : [values];
  return list.flatMap((v) => String(v).split(',')).filter((s) => s.trim() !== '').map((s) => parseHostPort(s, what));
}

const RATE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes per second from `500`, `64k`, `2M`, `1G` (binary multiples; optional trailing B or B/s). `0` = no limit. */
export function parseRate(text: string | number, what = 'rate'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?B(?:\/s)?)?\s*$/.exec(String(text));
  if (!m) throw new CliError('bad_rate', `${what} "${text}" is not a rate such as 500k or 2M`, EXIT.usage);
  const value = Number(m[1]) * (RATE_UNITS[(m[2] as string).toLowerCase()] as number);
  return Math.floor(value);
}

/** A port number option: 0..65535 (0 picks a free one). */
export function parsePort(value: unknown, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError('bad_port', `${what} must be 0..65535, got "${String(value)}"`, EXIT.usage);
  return n;
}

/** A positive number of seconds, converted to milliseconds. */
export function parseSeconds(value: unknown, what: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError('bad_duration', `${what} must be a positive number of seconds`, EXIT.usage);
  return Math.round(n * 1000);
}
