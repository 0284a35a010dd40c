/**
 * The rate limit under concurrency, against a real DynamoDB API (dynalite): many requests at
 * once from one caller never spend more than the budget (DESIGN §4.4), IPv6 callers are limited
 * per /64, and both the minute and the day window hold, on an injected clock. The dialer is a
 * recording probe, so "probes" here means calls the service made to its dialer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { type ProbeCall, recordingProbe, tableLimiter, testDeps } from '../support/handler-deps.ts';

/** Asks for the calm request after the burst, while the table's budget still refuses it. */
const CALM_TRIES = 5;

const TABLE = 'limits-under-load';
/** A fixed moment in the middle of a day and of a minute, so no window rolls over by accident. */
const NOON = Date.UTC(2026, 0, 15, 12, 0, 30);

let table: EmbeddedTable;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  table = await startEmbeddedTable(TABLE);
});
afterAll(async () => {
  for (const cleanup of cleanups) cleanup();
  await table?.close();
});

/**
 * A handler on the shared table with its own clock; tests use distinct caller addresses so
 * their counters never meet. `patient` (the default here) gives the table client long
 * timeouts: 500 requests at once through one process queue up behind one in-memory dynalite,
 * and these tests are about the atomic update, not about how fast the table answers.
 */
function service(limits: { perMinute: number; perDay: number }, clock: { now: number }, patient = true) {
  const env = {
    TABLE_NAME: TABLE,
    RATE_LIMIT_PER_MINUTE: String(limits.perMinute),
    RATE_LIMIT_PER_DAY: String(limits.perDay),
    MAX_PORTS: String(Math.min(10, limits.perMinute)),
  };
  const now = (): number => clock.now;
  const probe = recordingProbe();
  const deps = testDeps(env, { probe: probe.probe, policy: 'any' });
  const { limiter, destroy } = tableLimiter(deps.config, table.endpoint, now, { patient });
  cleanups.push(destroy);
  const handler: Handler = createHandler({ ...deps, limiter });
  const get = (sourceIp: string, url: string) => handler(apiEvent({ url, sourceIp }), lambdaContext(20_000));
  return { get, calls: probe.calls };
}

function portsDialed(calls: readonly ProbeCall[], address?: string): number {
  return calls
    .filter((c) => address === undefined || c.target.address === address)
    .reduce((n, c) => n + c.ports.length, 0);
}

describe('rate limit under concurrency (dynalite)', () => {
  it('lets exactly the budget through when one caller sends 500 requests at once', async () => {
    const clock = { now: NOON };
    const { get, calls } = service({ perMinute: 37, perDay: 1000 }, clock);
    const responses = await Promise.all(Array.from({ length: 500 }, (_, i) => get('203.0.113.10', `/check/${1 + i}`)));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(37);
    expect(statuses.filter((s) => s === 429)).toHaveLength(463);
    expect(portsDialed(calls)).toBe(37);
    for (const r of responses.filter((x) => x.statusCode === 429)) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(r.headers.ratelimit).toMatch(/"minute";r=0/);
    }
  });

  it('never overspends, and fails closed with 503, when the same burst meets the production timeouts', async () => {
    const clock = { now: NOON };
    const { get, calls } = service({ perMinute: 37, perDay: 1000 }, clock, false);
    const responses = await Promise.all(Array.from({ length: 500 }, (_, i) => get('203.0.113.13', `/check/${1 + i}`)));
    const ok = responses.filter((r) => r.statusCode === 200).length;
    console.info(
      `500-request burst on production timeouts: ${ok} × 200, ${responses.filter((r) => r.statusCode === 429).length} × 429, ${responses.filter((r) => r.statusCode === 503).length} × 503`,
    );
    expect(ok).toBeLessThanOrEqual(37);
    expect(portsDialed(calls)).toBe(ok);
    for (const r of responses.filter((x) => x.statusCode !== 200)) {
      expect([429, 503]).toContain(r.statusCode);
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Failing closed is for the burst only: all 503s would pass every line above. Once it is
    // over, a calm request is answered from the counters (200 or 429, not 503), and what they
    // have left accounts for at least every 200 (a timed-out update may also have counted).
    // On a busy machine the calm request can itself meet the 1 s table budget (503, seen beside
    // a CPU-bound process): it is asked again, at most 5 times a second apart, and any update
    // those 503s counted only lowers what is left.
    let calm = await get('203.0.113.13', '/check/1');
    for (let i = 1; i < CALM_TRIES && calm.statusCode === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      calm = await get('203.0.113.13', '/check/1');
    }
    expect([200, 429]).toContain(calm.statusCode);
    const left = Number(/"minute";r=(\d+)/.exec(calm.headers.ratelimit ?? '')?.[1]);
    expect(left).toBeLessThanOrEqual(37 - ok - (calm.statusCode === 200 ? 1 : 0));
  });

  it('charges the minute nothing when the day refuses, as the RateLimit header shows', async () => {
    const clock = { now: NOON };
    const { get, calls } = service({ perMinute: 10, perDay: 14 }, clock);
    const ip = '203.0.113.14';
    expect((await get(ip, '/check?ports=1,2,3,4,5,6,7,8,9,10')).statusCode).toBe(200);
    clock.now += 60_000;
    const spent = await get(ip, '/check?ports=1,2,3');
    expect(spent.headers.ratelimit).toBe('"minute";r=7;t=30, "day";r=1;t=43110');
    // 200 requests of 2 ports at once: each would fit the minute (7 left), none fits the day (1 left).
    const refused = await Promise.all(Array.from({ length: 200 }, () => get(ip, '/check?ports=4,5')));
    for (const r of refused) {
      expect(r.statusCode).toBe(429);
      expect(r.headers.ratelimit).toBe('"day";r=1;t=43110, "minute";r=7;t=30');
    }
    // Had any refusal charged the minute, fewer than 7 would be left now.
    const after = await get(ip, '/check/6');
    expect(after.headers.ratelimit).toBe('"minute";r=6;t=30, "day";r=0;t=43110');
    expect(portsDialed(calls, ip)).toBe(14);
  });

  it('counts every port of multi-port requests, also at once', async () => {
    const clock = { now: NOON };
    const { get, calls } = service({ perMinute: 25, perDay: 1000 }, clock);
    // 60 requests of 3 ports each: at most 8 fit in 25 (24 ports); the 25th port must never be spent.
    const responses = await Promise.all(
      Array.from({ length: 60 }, () => get('203.0.113.11', '/check?ports=22,80,443')),
    );
    expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(8);
    expect(portsDialed(calls)).toBe(24);
  });

  it('makes two IPv6 callers in one /64 share a budget, and a different /64 keep its own', async () => {
    const clock = { now: NOON };
    const { get, calls } = service({ perMinute: 20, perDay: 1000 }, clock);
    const a = '2001:db8:aa:1::1';
    const b = '2001:db8:aa:1:ffff:ffff:ffff:fffe';
    const other = '2001:db8:aa:2::1';
    const requests = [
      ...Array.from({ length: 30 }, (_, i) => get(a, `/check/${1000 + i}`)),
      ...Array.from({ length: 30 }, (_, i) => get(b, `/check/${2000 + i}`)),
      ...Array.from({ length: 30 }, (_, i) => get(other, `/check/${3000 + i}`)),
    ];
    await Promise.all(requests);
    expect(portsDialed(calls, a) + portsDialed(calls, b)).toBe(20);
    expect(portsDialed(calls, other)).toBe(20);
  });

  it('holds the minute window and then the day window, and reopens each when it rolls over', async () => {
    const clock = { now: NOON };
    const { get, calls } = service({ perMinute: 5, perDay: 12 }, clock);
    const ip = '203.0.113.12';
    const burst = async (n: number): Promise<number[]> => {
      const out = await Promise.all(Array.from({ length: n }, (_, i) => get(ip, `/check/${100 + i}`)));
      return out.map((r) => r.statusCode);
    };

    expect((await burst(8)).filter((s) => s === 200)).toHaveLength(5); // minute 1: 5 of 8
    const refused = await get(ip, '/check/1');
    expect(refused.statusCode).toBe(429);
    expect(JSON.parse(refused.body).detail).toMatch(/per minute/);
    expect(Number(refused.headers['retry-after'])).toBe(30); // NOON is 30 s into its minute

    clock.now += 60_000;
    expect((await burst(8)).filter((s) => s === 200)).toHaveLength(5); // minute 2: 10 of the day's 12
    clock.now += 60_000;
    expect((await burst(3)).filter((s) => s === 200)).toHaveLength(2); // minute 3: the day's last 2
    const dayRefused = await get(ip, '/check/1');
    expect(dayRefused.statusCode).toBe(429);
    expect(JSON.parse(dayRefused.body).detail).toMatch(/per day/);
    expect(Number(dayRefused.headers['retry-after'])).toBeGreaterThan(11 * 3600);

    clock.now += 3600_000; // a fresh minute, same day: still refused by the day window
    expect((await get(ip, '/check/1')).statusCode).toBe(429);
    expect(portsDialed(calls)).toBe(12);

    clock.now = NOON + 86_400_000; // the next day: both windows reopen, old items are ignored
    expect((await burst(8)).filter((s) => s === 200)).toHaveLength(5);
    expect(portsDialed(calls)).toBe(17);
  });
});
