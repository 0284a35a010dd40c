/**
 * Leaks: 10,000 real port checks in one process (real probe on loopback, real limiter on
 * dynalite, production wiring from `createDeps` but a patient table client), then open file
 * descriptors must be back at the warmed-up baseline and the heap must not have grown beyond a
 * generous bound. The checks go 10 ports per request (1,000 requests), because every request
 * costs two DynamoDB updates and the SDK on this machine needs ~5 ms for each; the probe, which
 * is what opens sockets, still runs 10,000 times. The figures are printed for the closing note.
 */
import { readdir } from 'node:fs/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeps } from '../../functions/api/deps.ts';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { tableLimiter } from '../support/handler-deps.ts';
import { type Listening, listening, releasedPorts } from '../support/ports.ts';

const CHECKS = 10_000;
const PORTS_PER_REQUEST = 10;
const CONCURRENCY = 16;
const FD_SLACK = 8;
const HEAP_BOUND_MB = 32;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settled(): Promise<{ fds: number; heapMb: number }> {
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 3; i++) gc();
  return {
    fds: (await readdir('/proc/self/fd')).length,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
  };
}

let table: EmbeddedTable;
let open: Listening;
let closed: number[];
let handler: Handler;
let limiter: ReturnType<typeof tableLimiter> | undefined;

beforeAll(async () => {
  table = await startEmbeddedTable('leaks');
  open = await listening();
  closed = await releasedPorts(PORTS_PER_REQUEST - 1);
  const config = loadConfig({
    TABLE_NAME: 'leaks',
    DYNAMODB_ENDPOINT: table.endpoint,
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PER_DAY: '10000000',
    PROBE_TIMEOUT_MS: '1000',
  });
  const deps = createDeps(config, {
    policy: 'public-and-loopback',
    blockedPorts: [],
    key: async () => 'leak-test-key-0123456789',
    log: () => undefined,
  });
  // The real limiter on the same table, with a client that waits: at load 17 the production
  // client's 1 s budget against this process's own dynalite turned 47 of 1,000 requests into
  // 503s, which says nothing about leaks.
  limiter = tableLimiter(config, table.endpoint, Date.now, { patient: true });
  handler = createHandler({ ...deps, limiter: limiter.limiter });
});
afterAll(async () => {
  limiter?.destroy();
  await open?.close();
  await table?.close();
});

/** Runs `count` port checks, `CONCURRENCY` requests at a time, each on one open and nine closed ports. */
async function checks(count: number): Promise<Map<string, number>> {
  const tally = new Map<string, number>();
  const url = `/check?ports=${[open.port, ...closed].join(',')}`;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count / PORTS_PER_REQUEST) {
      next += 1;
      const response = await handler(apiEvent({ url, sourceIp: '127.0.0.1' }), lambdaContext());
      const states: string[] =
        response.statusCode === 200
          ? JSON.parse(response.body).results.map((r: { state: string }) => r.state)
          : [String(response.statusCode)];
      for (const state of states) tally.set(state, (tally.get(state) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return tally;
}

describe('resources over 10,000 checks', () => {
  it('returns file descriptors to the baseline and keeps the heap stable', async () => {
    await checks(400);
    const baseline = await settled();
    const started = performance.now();

    const tally = await checks(CHECKS);
    const seconds = (performance.now() - started) / 1000;
    const after = await settled();

    console.info(
      `leaks: ${CHECKS} checks in ${seconds.toFixed(1)} s; fds ${baseline.fds} → ${after.fds}; ` +
        `heap ${baseline.heapMb.toFixed(1)} → ${after.heapMb.toFixed(1)} MB; states ${JSON.stringify(Object.fromEntries(tally))}`,
    );
    expect(Object.fromEntries(tally)).toEqual({
      open: CHECKS / PORTS_PER_REQUEST,
      closed: CHECKS - CHECKS / PORTS_PER_REQUEST,
    });
    expect(after.fds).toBeLessThanOrEqual(baseline.fds + FD_SLACK);
    expect(after.heapMb - baseline.heapMb).toBeLessThan(HEAP_BOUND_MB);
  }, 180_000);
});
