import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Commands keep state under $XDG_STATE_HOME/dht-node; tests (and the CLI processes they start) get a
// fresh folder so they never read or write a developer's real state.
const stateHome = mkdtempSync(join(tmpdir(), 'dht-node-test-state-'));

// Interop against real clients (libtorrent through python3-libtorrent, bittorrent-dht from npm).
// A missing partner fails the test; nothing here skips.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { XDG_STATE_HOME: stateHome },
    fileParallelism: false,
  },
});
