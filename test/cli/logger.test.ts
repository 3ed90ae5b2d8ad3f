import { describe, expect, it } from 'vitest';
import { logLevelFrom } from '../../src/cli/logger.js';

describe('DHT_NODE_LOG', () => {
  it('names a level, in any case and with spaces around it; anything else is warn', () => {
    expect(logLevelFrom('debug')).toBe('debug');
    expect(logLevelFrom(' INFO ')).toBe('info');
    expect(logLevelFrom('error')).toBe('error');
    expect(logLevelFrom(undefined)).toBe('warn');
    expect(logLevelFrom('')).toBe('warn');
    expect(logLevelFrom('verbose')).toBe('warn');
  });
});
