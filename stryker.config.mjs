// Mutation testing: `npm run mutation` (all modules) or `DIALBACK_MUTATE=probe npm run mutation`.
// Not part of CI: it takes minutes. The report lands in test-results/mutation/index.html.
// dynamodb-client (so also the full run) refuses to start outside a loopback-only namespace:
// `unshare -n sh -c 'ip link set lo up && npm run mutation'` (root).

import { networkInterfaces } from 'node:os';

/**
 * Each module with only the unit and integration test files that exercise it, so a mutant
 * never waits on a test that cannot reach it (2 shared cores: the run must take minutes, not
 * hours). Lab tests (namespaces, nmap, minutes each) are never used.
 */
const MODULES = {
  probe: {
    mutate: ['functions/core/probe.ts'],
    tests: [
      'test/unit/handshake.test.ts',
      'test/integration/dialers.test.ts',
      'test/integration/probe.test.ts',
      'test/integration/probe-local.test.ts',
    ],
  },
  'rate-limiter': {
    mutate: ['functions/core/rate-limiter.ts'],
    tests: ['test/integration/rate-limiter.test.ts'],
  },
  'source-address': {
    mutate: ['functions/core/source-address.ts', 'functions/contract/address.ts'],
    tests: ['test/unit/source-address.test.ts'],
  },
  // The port grammar lives in the wire contract, shared by server, client, widget and CLI.
  ports: {
    mutate: ['functions/contract/wire.ts'],
    tests: ['test/unit/ports.test.ts'],
  },
  'secret-key': {
    mutate: ['functions/core/secret-key.ts'],
    tests: ['test/integration/secret-key.test.ts'],
  },
  config: {
    mutate: ['functions/core/config.ts'],
    tests: ['test/unit/config.test.ts'],
  },
  // The texts are read by the CLI, the text renderer and the OpenAPI document; their own
  // tests check every state and reason has words, and that the words carry the key facts.
  'verdict-text': {
    mutate: ['functions/contract/verdict-text.ts'],
    tests: ['test/unit/verdict-text.test.ts', 'test/unit/verdict-text-facts.test.ts', 'test/unit/both.test.ts'],
  },
  // The small modules the handler wires, each with its own tests of its public API (the
  // handler tests reach them too, but take far longer and kill no more).
  errors: {
    mutate: ['functions/core/errors.ts'],
    tests: ['test/unit/errors.test.ts'],
  },
  'dial-proof': {
    mutate: ['functions/core/dial-proof.ts', 'functions/contract/dial-proof.ts'],
    tests: ['test/unit/dial-proof.test.ts'],
  },
  log: {
    mutate: ['functions/core/log.ts'],
    tests: ['test/unit/log.test.ts'],
  },
  'reverse-dns': {
    mutate: ['functions/core/reverse-dns.ts'],
    tests: ['test/integration/reverse-dns.test.ts', 'test/integration/reverse-dns-lookup.test.ts'],
  },
  'udp-probe': {
    mutate: ['functions/core/udp-probe.ts'],
    tests: ['test/integration/dialers.test.ts', 'test/integration/udp-probe.test.ts'],
  },
  // Shared by both probes: the pacing's and the engine's own unit tests with a clock, and each
  // probe's tests through the probe's public API.
  pacing: {
    mutate: [
      'functions/core/pacing.ts',
      'functions/core/paced-check.ts',
      'functions/core/errno-verdicts.ts',
      'functions/core/local-failure.ts',
    ],
    tests: [
      'test/unit/pacing.test.ts',
      'test/unit/paced-check.test.ts',
      'test/unit/local-failure.test.ts',
      'test/integration/probe.test.ts',
      'test/integration/probe-local.test.ts',
      'test/integration/udp-probe.test.ts',
    ],
  },
  // Nearly every mutant here is static (module-level bytes), so each would rerun every test:
  // the unit test checks each payload byte by byte and is the only one it needs.
  'udp-payloads': {
    mutate: ['functions/core/udp-payloads.ts'],
    tests: ['test/unit/udp-payloads.test.ts'],
  },
  // The table's schema and client are reached through the embedded table and the limiter.
  'table-schema': {
    mutate: ['functions/core/table-schema.ts'],
    tests: [
      'test/integration/table-schema.test.ts',
      'test/integration/embedded-table.test.ts',
      'test/integration/rate-limiter.test.ts',
    ],
  },
  // Its mutants can drop the local endpoint and credentials, and the SDK would then call AWS
  // (and the instance metadata address for credentials): so it runs only where no packet can
  // leave, a network namespace with nothing but loopback (`isolated`, checked below).
  'dynamodb-client': {
    isolated: true,
    mutate: ['functions/core/dynamodb-client.ts'],
    tests: [
      'test/integration/dynamodb-client.test.ts',
      'test/integration/embedded-table.test.ts',
      'test/integration/rate-limiter.test.ts',
    ],
  },
};

const names = process.env.DIALBACK_MUTATE?.split(',').filter(Boolean) ?? Object.keys(MODULES);
const chosen = names.map((name) => {
  const module = MODULES[name];
  if (module === undefined) {
    throw new Error(`DIALBACK_MUTATE: no module ${name}; choose from ${Object.keys(MODULES).join(', ')}`);
  }
  return module;
});
const outside = Object.keys(networkInterfaces()).filter((name) => name !== 'lo');
if (chosen.some((m) => m.isolated) && outside.length > 0) {
  throw new Error(
    `DIALBACK_MUTATE: ${names.join(',')} needs a network namespace with only loopback (here also ${outside.join(', ')}); ` +
      `run: unshare -n sh -c 'ip link set lo up && DIALBACK_MUTATE=${names.join(',')} npm run mutation'`,
  );
}
// Read by test/vitest.config.ts in Stryker's runner processes, which inherit this environment.
process.env.DIALBACK_TEST_FILES = chosen.flatMap((m) => m.tests).join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'test/vitest.config.ts', related: false },
  mutate: chosen.flatMap((m) => m.mutate),
  // perTest: each mutant reruns only the tests that reached it.
  coverageAnalysis: 'perTest',
  // Two shared cores; the integration tests open sockets and start dynalite.
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: 'test-results/mutation/index.html' },
  tempDirName: 'test-results/stryker-tmp',
  ignorePatterns: ['cdk.out', 'coverage', 'test-results', 'docs'],
  cleanTempDir: 'always',
};
