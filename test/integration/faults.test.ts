/**
 * Failure modes, each produced for real: a TCP proxy in front of dynalite that delays,
 * black-holes, resets or answers DynamoDB's throttling errors; a stopped table server; a DNS
 * server that never answers or answers SERVFAIL; a local server that runs out of file
 * descriptors. The service must fail closed (503 with Retry-After, no probe) in bounded time,
 * and `/ip` must answer without its reverse-DNS name.
 *
 * The "bounded time" bounds below are generous on purpose: they pin that our timeouts exist
 * and fire (a hang would take forever), not how fast this shared machine is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/api/handler.ts';
import { createReverseDns } from '../../functions/core/reverse-dns.ts';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { type FakeDns, startFakeDns } from '../support/fake-dns.ts';
import { type FaultMode, type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { recordingProbe, tableLimiter, testDeps } from '../support/handler-deps.ts';

const TABLE = 'faults';
const BOUND_MS = 10_000;

let table: EmbeddedTable;
let proxy: FaultProxy;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  table = await startEmbeddedTable(TABLE);
  proxy = await startFaultProxy(table.endpoint);
});
afterAll(async () => {
  for (const cleanup of cleanups) cleanup();
  await proxy?.close();
  await table?.close();
});

/** A handler whose limiter talks to `endpoint` with the production client; a fresh client each time. */
function service(endpoint: string) {
  const probe = recordingProbe();
  const deps = testDeps({ TABLE_NAME: TABLE }, { probe: probe.probe, policy: 'any' });
  const { limiter, destroy } = tableLimiter(deps.config, endpoint, Date.now);
  cleanups.push(destroy);
  const handler = createHandler({ ...deps, limiter });
  return { handler, calls: probe.calls };
}

/** Runs one check and returns the response and how long it took. */
async function timedCheck(endpoint: string, sourceIp: string) {
  const { handler, calls } = service(endpoint);
  const started = performance.now();
  const response = await handler(apiEvent({ url: '/check/443', sourceIp }), lambdaContext(20_000));
  return { response, calls, elapsedMs: performance.now() - started };
}

function expectUnavailable(result: Awaited<ReturnType<typeof timedCheck>>): void {
  expect(result.response.statusCode).toBe(503);
  expect(Number(result.response.headers['retry-after'])).toBeGreaterThan(0);
  expect(result.response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(result.response.body)).toMatchObject({ type: 'urn:dialback:problem:unavailable', status: 503 });
  expect(result.calls).toHaveLength(0);
  expect(result.elapsedMs).toBeLessThan(BOUND_MS);
}

describe('rate-limit table faults', () => {
  it('checks normally through the proxy when it passes traffic', async () => {
    proxy.mode = 'pass';
    const result = await timedCheck(proxy.endpoint, '203.0.113.20');
    expect(result.response.statusCode).toBe(200);
    expect(result.calls).toHaveLength(1);
  });

  const faults: Array<[string, FaultMode, Partial<FaultProxy>]> = [
    ['slow (5 s per request)', 'delay', { delayMs: 5000 }],
    ['black-holed (accepts, never answers)', 'blackhole', {}],
    ['resetting connections', 'reset', {}],
    ['throttling (ThrottlingException)', 'throttle', { throttleType: 'ThrottlingException' }],
    [
      'throttling (ProvisionedThroughputExceededException)',
      'throttle',
      { throttleType: 'ProvisionedThroughputExceededException' },
    ],
  ];
  for (const [what, mode, settings] of faults) {
    it(`answers 503 with Retry-After and sends no probe when the table is ${what}`, async () => {
      Object.assign(proxy, { mode, ...settings });
      const before = proxy.connections();
      const result = await timedCheck(proxy.endpoint, '203.0.113.21');
      expect(proxy.connections()).toBeGreaterThan(before);
      expectUnavailable(result);
    });
  }

  it('gives up a table request at the client request timeout and retries it once before failing', async () => {
    // The SDK's requestTimeout only warns unless throwOnRequestTimeout is set; this pins that
    // the attempt really ends at 1 s and the one retry runs inside the limiter's 2 s budget.
    Object.assign(proxy, { mode: 'delay', delayMs: 5000 });
    const before = proxy.connections();
    const result = await timedCheck(proxy.endpoint, '203.0.113.23');
    expect(proxy.connections() - before).toBe(2);
    expectUnavailable(result);
  });

  it('answers 503 with Retry-After and sends no probe when the table server is stopped', async () => {
    const stopped = await startEmbeddedTable(TABLE);
    await stopped.close();
    expectUnavailable(await timedCheck(stopped.endpoint, '203.0.113.22'));
  });
});

describe('reverse DNS faults', () => {
  let dns: FakeDns;
  beforeAll(async () => {
    dns = await startFakeDns('answer');
  });
  afterAll(async () => {
    await dns?.close();
  });

  async function ip(): Promise<{ status: number; body: Record<string, unknown>; elapsedMs: number }> {
    const handler = createHandler(
      testDeps({}, { reverseDns: createReverseDns({ timeoutMs: 800, servers: [dns.server] }) }),
    );
    const started = performance.now();
    const response = await handler(apiEvent({ url: '/ip', sourceIp: '9.9.9.9' }), lambdaContext());
    return { status: response.statusCode, body: JSON.parse(response.body), elapsedMs: performance.now() - started };
  }

  // /ip looks up global addresses only, so the caller here is one; it is never dialed, and
  // the PTR question only ever goes to the loopback test resolver.
  it('names the address when the resolver answers (the lookup really goes to the test resolver)', async () => {
    dns.mode = 'answer';
    const before = dns.queries();
    const result = await ip();
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ ip: '9.9.9.9', family: 4, reverseDns: 'host.example.net' });
    expect(dns.queries()).toBeGreaterThan(before);
  });

  for (const mode of ['servfail', 'blackhole'] as const) {
    it(`still answers /ip, with reverseDns null, when the resolver ${mode === 'servfail' ? 'answers SERVFAIL' : 'never answers'}`, async () => {
      dns.mode = mode;
      const before = dns.queries();
      const result = await ip();
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ ip: '9.9.9.9', family: 4, reverseDns: null });
      expect(dns.queries()).toBeGreaterThan(before);
      expect(result.elapsedMs).toBeLessThan(BOUND_MS);
    });
  }
});
