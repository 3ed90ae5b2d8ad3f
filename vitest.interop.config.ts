import { defineConfig } from 'vitest/config';

// Interop against real clients (libtorrent through python3-libtorrent, bittorrent-dht from npm).
// A missing partner fails the test; nothing here skips.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
