import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { LoadFailuresAsTests } from './support/load-failures-reporter.ts';

// DIALBACK_TEST_FILES narrows the run to a list of files (stryker.config.mjs sets it).
const only = process.env.DIALBACK_TEST_FILES?.split(',');
const LAB = 'test/lab/';
const isCi = Boolean(process.env.CI) || process.env.DIALBACK_REQUIRE_LAB === '1';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
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
    // Every file runs in a process of its own, so a failing file cannot leak state into another.
    pool: 'forks',
    // Most files wait on sockets and timers, not the CPU: three at a time on two cores. They
    // share the machine safely: ports are ephemeral, namespaces carry per-run suffixes, and root
    // links claim subnets no other link holds (support/netns.ts `claimHostLinkNet`).
    maxWorkers: 3,
    // `npm test` (test/suite.ts) runs the two projects in Vitests of their own, side by side; a
    // plain `vitest run` runs the non-parallel project's files after the parallel ones.
    projects: [
      {
        extends: true,
        test: {
          name: 'lab',
          include: only?.filter((f) => f.startsWith(LAB)) ?? [`${LAB}**/*.test.ts`],
          // One lab file at a time: each pins its checker to CPU 0 and its client's receive queue
          // to the other CPU (support/netns.ts), so an ICMP error is not handled while the
          // checker's connect() still holds the socket. Beside the rest (`npm test`) every part
          // still runs where it is pinned, and the rest yield the CPU to it (test/suite.ts).
          fileParallelism: false,
          // The router lab's concurrent scenarios all ask one miniupnpd, a single-threaded
          // daemon: five at a time (two doctors each) on a busy machine once kept a UPnP answer
          // past the doctor's 2 s budget. A home router meets one doctor at a time.
          maxConcurrency: 2,
        },
      },
      {
        extends: true,
        test: {
          name: 'rest',
          include: only ?? ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, `${LAB}**`],
        },
      },
    ],
  },
});
