import { describe, expect, it } from 'vitest';
import { formatBytes, formatEta, formatProgress, ProgressLine } from '../../src/cli/progress.js';

describe('progress line', () => {
  it('formats sizes and durations', () => {
    expect(formatBytes(312)).toBe('312 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MiB');
    expect(formatEta(42)).toBe('42s');
    expect(formatEta(187)).toBe('3m07s');
    expect(formatEta(3720)).toBe('1h02m');
    expect(formatEta(Infinity)).toBe('--');
  });

  it('shows percent, rates, peers and ETA', () => {
    const line = formatProgress({ have: 12, pieces: 28, bytesHave: 431, bytesTotal: 1000, down: 100, up: 2048, peers: 5 });
    expect(line).toBe('43.1% 12/28 pieces  down 100 B/s  up 2.0 KiB/s  5 peers  ETA 6s');
    expect(formatProgress({ have: 0, pieces: 2, bytesHave: 0, bytesTotal: 10, down: 0, up: 0, peers: 1 })).toContain('1 peer  ETA --');
    expect(formatProgress({ have: 2, pieces: 2, bytesHave: 10, bytesTotal: 10, down: 0, up: 0, peers: 0 })).toContain('ETA done');
  });

  it('redraws in place and ends with a newline', () => {
    const out: string[] = [];
    const line = new ProgressLine({ write: (s: string) => out.push(s) });
    line.end();
    expect(out).toEqual([]);
    line.update({ have: 1, pieces: 2, bytesHave: 5, bytesTotal: 10, down: 0, up: 0, peers: 0 });
    line.end();
    expect(out[0]?.startsWith('\r50.0%')).toBe(true);
    expect(out[1]).toBe('\n');
  });
});
