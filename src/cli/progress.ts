/**
 * The human progress line of `download` and `seed`: percent, rates, peers and ETA, redrawn in place on a
 * terminal. Only used when stdout is a TTY and --json is off; the formatting is a pure function so it can be
 * tested without a terminal.
 */

export interface ProgressSnapshot {
  /** Verified pieces. */
  have: number;
  pieces: number;
  /** Verified bytes and total bytes (for percent and ETA). */
  bytesHave: number;
  bytesTotal: number;
  /** Payload bytes per second. */
  down: number;
  up: number;
  peers: number;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1.5 MiB`, `312 B`. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} ${UNITS[u]}` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** `1h02m`, `3m07s`, `42s`, or `--` when it cannot be estimated. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.ceil(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One line: `43.1% 12/28 pieces  down 1.2 MiB/s  up 300 KiB/s  5 peers  ETA 0m12s`. */
export function formatProgress(p: ProgressSnapshot): string {
  const percent = p.bytesTotal === 0 ? 100 : (p.bytesHave / p.bytesTotal) * 100;
  const remaining = p.bytesTotal - p.bytesHave;
  const eta = remaining <= 0 ? 'done' : formatEta(p.down > 0 ? remaining / p.down : Infinity);
  return (
    `${percent.toFixed(1)}% ${p.have}/${p.pieces} pieces  down ${formatBytes(p.down)}/s  up ${formatBytes(p.up)}/s  ` +
    `${p.peers} peer${p.peers === 1 ? '' : 's'}  ETA ${eta}`
  );
}

/** Redraws one line in place (carriage return, then clear to end of line). */
export class ProgressLine {
  private drawn = false;

  constructor(private readonly stream: { write(s: string): unknown } = process.stdout) {}

  update(p: ProgressSnapshot): void {
    this.stream.write(`\r${formatProgress(p)}\x1b[K`);
    this.drawn = true;
  }

  /** Ends the line so later output starts on a fresh one. */
  end(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
