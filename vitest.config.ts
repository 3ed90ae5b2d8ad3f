import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Commands keep state under $XDG_STATE_HOME/dht-node; tests (and the CLI processes they start) get a
// fresh folder so they never read or write a developer's real state.
const stateHome = mkdtempSync(join(tmpdir(), 'dht-node-test-state-'));

// The main suite: unit, property, simulation and loopback integration tests. Interop tests against
// real clients run from vitest.interop.config.ts (`npm run test:interop`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/interop/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: { XDG_STATE_HOME: stateHome },
  },
});
