import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    // Lab and integration tests start servers and network namespaces; give them room but
    // never let one hang CI.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share one machine's network namespaces and nftables; files run one at a time in
    // separate processes so a failing file cannot leak state into another.
    pool: 'forks',
    fileParallelism: false,
  },
});
