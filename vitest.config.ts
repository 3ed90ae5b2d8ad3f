import { defineConfig } from 'vitest/config';

// The main suite: unit, property, simulation and loopback integration tests. Interop tests against
// real clients run from vitest.interop.config.ts (`npm run test:interop`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/interop/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
