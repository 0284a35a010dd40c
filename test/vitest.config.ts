import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LoadFailuresAsTests } from './support/load-failures-reporter.ts';

const isCi = Boolean(process.env.CI) || process.env.DIALBACK_REQUIRE_LAB === '1';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    // DIALBACK_TEST_FILES narrows the run to a list of files (stryker.config.mjs sets it).
    include: process.env.DIALBACK_TEST_FILES?.split(',') ?? ['test/**/*.test.ts'],
    // Under Stryker, a file that cannot load or set up must count as failed tests (see the reporter).
    ...(process.env.DIALBACK_TEST_FILES === undefined ? {} : { reporters: ['default', new LoadFailuresAsTests()] }),
    // No test can send outside loopback and the lab's ranges (support/connect-guard.ts).
    setupFiles: ['test/support/guard-setup.ts'],
    // Under CI a focused (.only) test fails the run instead of quietly skipping the rest.
    allowOnly: !isCi,
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
