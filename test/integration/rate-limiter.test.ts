import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { Unavailable } from '../../functions/core/errors.ts';
import {
  callerHash,
  createRateLimiter,
  RateLimitExceeded,
  type RateLimiter,
  type RateLimiterDeps,
  type RateWindows,
  rateWindows,
} from '../../functions/core/rate-limiter.ts';
import { parseSourceAddress } from '../../functions/core/source-address.ts';
import { COUNTER_ATTRIBUTES } from '../../functions/core/table-schema.ts';
import { startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';
import { patientClient, useCounterTable } from '../support/table.ts';
import { countRequests, typicalCallers, walkDay } from '../support/write-units.ts';

const KEY = 'test-key-0123456789abcdef';
const WINDOWS: RateWindows = [
  { name: 'minute', seconds: 60, limit: 10 },
  { name: 'day', seconds: 86_400, limit: 25 },
];
// A fixed instant 10 s into a minute, so windows do not roll over mid-test.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 10);

const table = useCounterTable('limiter');

function limiterAt(
  now: () => number,
  name = table.tableName,
  endpoint = table.endpoint,
  more: Partial<RateLimiterDeps> = {},
): RateLimiter {
  return createRateLimiter({
    client: patientClient(endpoint),
    tableName: name,
    windows: WINDOWS,
    key: async () => KEY,
    now,
    // Exactness is under test here, not the table's time budget: on a loaded machine the
    // default 2 s (and the production client's 1 s per request) can run out mid-race and turn
    // a refusal into Unavailable.
    timeoutMs: 30_000,
    ...more,
  });
}

async function allItems(): Promise<Record<string, unknown>[]> {
  const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: table.endpoint });
  const out = await client.send(new ScanCommand({ TableName: table.tableName }));
  client.destroy();
  return out.Items ?? [];
}

const caller = parseSourceAddress('203.0.113.7');

describe('rate limiter against dynalite', () => {
  it('lets exactly the limit through when limit+20 single-port requests race', async () => {
    const limiter = limiterAt(() => T0);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 + 20 }, () => limiter(caller, 1)));
    const passed = outcomes.filter((o) => o.status === 'fulfilled').length;
    const limited = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof RateLimitExceeded).length;
    expect(passed).toBe(10);
    expect(limited).toBe(20);
  });

  it('counts every port of a request', async () => {
    const limiter = limiterAt(() => T0);
    const first = await limiter(caller, 3);
    expect(first.windows.map((w) => w.remaining)).toEqual([7, 22]);
    const second = await limiter(caller, 3);
    expect(second.windows.map((w) => w.remaining)).toEqual([4, 19]);
  });

  it('refuses a request that would overspend, says what is left and when it resets', async () => {
    const limiter = limiterAt(() => T0);
    await limiter(caller, 8);
    const error = await limiter(caller, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitExceeded);
    const limited = error as RateLimitExceeded;
    expect(limited.retryAfterSeconds).toBe(50);
    expect(limited.rate.windows[0]).toMatchObject({ remaining: 2, resetSeconds: 50 });
    expect(limited.message).toBe(
      'This check asks for 3 ports and 2 of your 10 port checks per minute are left: check up to 2 now, or all 3 in 50 s.',
    );
    // The refused request spent nothing: two ports still fit, and then none.
    expect((await limiter(caller, 2)).windows[0]?.remaining).toBe(0);
    const spent = (await limiter(caller, 1).catch((e: unknown) => e)) as RateLimitExceeded;
    expect(spent.message).toBe('You have used your 10 port checks per minute. Try again in 50 s.');
  });

  it('ignores a window that expired, even though its item is still in the table', async () => {
    let now = T0;
    const limiter = limiterAt(() => now);
    await limiter(caller, 10);
    await expect(limiter(caller, 1)).rejects.toBeInstanceOf(RateLimitExceeded);
    now = T0 + 61_000;
    const status = await limiter(caller, 1);
    expect(status.windows[0]?.remaining).toBe(9);
    expect((await allItems()).length).toBe(1); // one item per caller per day, both windows in it
  });

  it('holds the day window across minutes, and charges the minute nothing when the day refuses', async () => {
    let now = T0;
    const limiter = limiterAt(() => now);
    await limiter(caller, 10);
    now += 60_000;
    await limiter(caller, 10);
    now += 60_000;
    await limiter(caller, 4); // day: 24 of 25 used; this minute: 4 of 10
    const error = await limiter(caller, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitExceeded);
    const refused = (error as RateLimitExceeded).rate.windows;
    expect(refused.map((w) => [w.window.name, w.remaining])).toEqual([
      ['day', 1],
      ['minute', 6],
    ]);
    const [item] = await allItems();
    expect(item?.m722).toEqual({ N: '4' });
    expect(item?.[COUNTER_ATTRIBUTES.count]).toEqual({ N: '24' });
    // Within both limits the last probe of the day still goes through.
    const last = await limiter(caller, 1);
    expect(last.windows.map((w) => w.remaining)).toEqual([5, 0]);
  });

  it('sends one write per allowed check: 20 checks over 7 minutes make 20 writes', async () => {
    let now = T0;
    const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: table.endpoint });
    const writes = countRequests(client);
    const limiter = limiterAt(() => now, table.tableName, table.endpoint, { client });
    for (let i = 0; i < 20; i += 1) {
      now = T0 + Math.floor(i / 3) * 60_000 + (i % 3) * 1000;
      await limiter(caller, 1);
    }
    expect(writes.count()).toBe(20);
    client.destroy();
  });

  it('starts the table budget once the key is in hand: a key slower than the budget still yields a check', async () => {
    const slowKey = () => new Promise<string>((resolve) => setTimeout(() => resolve(KEY), 400));
    const limiter = limiterAt(() => T0, table.tableName, table.endpoint, { key: slowKey, timeoutMs: 150 });
    const status = await limiter(caller, 1);
    expect(status.windows.map((w) => w.remaining)).toEqual([9, 24]);
  });

  it('warms a cold client with one throwaway write beside the first key read, storing nothing', async () => {
    const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: table.endpoint });
    const writes = countRequests(client);
    const limiter = limiterAt(() => T0, table.tableName, table.endpoint, { client, warmUp: true });
    await limiter(caller, 1);
    await limiter(caller, 1);
    expect(writes.count()).toBe(3);
    expect((await allItems()).map((item) => item[COUNTER_ATTRIBUTES.key])).toEqual([
      { S: `${callerHash(caller, KEY)}#${Math.floor(T0 / 86_400_000) * 86_400}` },
    ]);
    client.destroy();
  });

  it('refuses a request larger than a window outright without touching the table', async () => {
    const limiter = limiterAt(() => T0);
    const error = await limiter(caller, 11).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitExceeded);
    const refused = error as RateLimitExceeded;
    expect(refused.message).toBe('A check of 11 ports is more than the 10 allowed per minute.');
    expect(refused.retryAfterSeconds).toBe(60);
    expect(refused.rate.windows).toEqual([{ window: WINDOWS[0], remaining: 10, resetSeconds: 60 }]);
    expect(await allItems()).toEqual([]);
    // Exactly the limit is not too big.
    expect((await limiter(caller, 10)).windows[0]?.remaining).toBe(0);
  });

  it('reports each window with its reset time, minute first', async () => {
    const limiter = limiterAt(() => T0 + 500); // 10.5 s into the minute: whole seconds count
    const status = await limiter(caller, 1);
    const secondsIntoDay = (T0 / 1000) % 86_400;
    expect(status.windows).toEqual([
      { window: WINDOWS[0], remaining: 9, resetSeconds: 50 },
      { window: WINDOWS[1], remaining: 24, resetSeconds: 86_400 - Math.floor(secondsIntoDay) },
    ]);
  });

  it('says which window refused, with what is left in it, when the day runs out first', async () => {
    let now = T0;
    const limiter = limiterAt(() => now);
    for (const cost of [10, 10]) {
      await limiter(caller, cost);
      now += 60_000;
    }
    const error = (await limiter(caller, 6).catch((e: unknown) => e)) as RateLimitExceeded;
    expect(error).toBeInstanceOf(RateLimitExceeded);
    expect(error.message).toMatch(
      /^This check asks for 6 ports and 5 of your 25 port checks per day are left: check up to 5 now, or all 6 in \d[^.]*\.$/,
    );
    // The refusing window comes first (what the minute shows then is up to how both are spent).
    expect(error.rate.windows[0]).toMatchObject({ window: WINDOWS[1], remaining: 5 });
    expect(error.retryAfterSeconds).toBe(error.rate.windows[0]?.resetSeconds);
  });

  it('gives callers separate budgets, and one IPv6 /64 one budget', async () => {
    const limiter = limiterAt(() => T0);
    await limiter(caller, 10);
    expect((await limiter(parseSourceAddress('203.0.113.8'), 10)).windows[0]?.remaining).toBe(0);
    await limiter(parseSourceAddress('2001:db8:1:2::a'), 10);
    await expect(limiter(parseSourceAddress('2001:db8:1:2:ffff::b'), 1)).rejects.toBeInstanceOf(RateLimitExceeded);
    expect((await limiter(parseSourceAddress('2001:db8:1:3::a'), 1)).windows[0]?.remaining).toBe(9);
  });

  it('stores counters only: no item holds the caller address in any form', async () => {
    const limiter = limiterAt(() => T0);
    const v6 = parseSourceAddress('2001:db8:1:2::abcd');
    await limiter(caller, 2);
    await limiter(v6, 2);
    const items = await allItems();
    expect(items.length).toBe(2);
    const dump = JSON.stringify(items);
    for (const form of ['203.0.113.7', '203', 'cb00:7107', '2001:db8', '2001:0db8', 'abcd', '/64']) {
      expect(dump).not.toContain(form);
    }
    for (const item of items) {
      // The day count, this minute's count (`m720` at 12:00), the key and the TTL: nothing else.
      expect(Object.keys(item).sort()).toEqual(
        [COUNTER_ATTRIBUTES.count, COUNTER_ATTRIBUTES.expiresAt, COUNTER_ATTRIBUTES.key, 'm720'].sort(),
      );
      const expiresAt = Number((item[COUNTER_ATTRIBUTES.expiresAt] as { N: string }).N);
      expect(expiresAt).toBeGreaterThan(T0 / 1000);
      expect(expiresAt).toBeLessThanOrEqual(T0 / 1000 + 86_400 + 60);
    }
    expect(dump).toContain(callerHash(caller, KEY));
  });

  it('fails closed with Unavailable when the table does not exist', async () => {
    const limiter = limiterAt(() => T0, 'no-such-table');
    const error = await limiter(caller, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Unavailable);
    // The table's own error is kept for the log, never shown to the caller.
    expect((error as Unavailable).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('fails closed with Unavailable, in bounded time, when the table never answers', async () => {
    const proxy = await startFaultProxy(Number(new URL(table.endpoint).port), 'blackhole');
    try {
      const limiter = createRateLimiter({
        client: createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: proxy.endpoint }),
        tableName: table.tableName,
        windows: WINDOWS,
        key: async () => KEY,
        now: () => T0,
        timeoutMs: 300,
      });
      const error = await limiter(caller, 1).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Unavailable);
      expect((error as Unavailable).message).toMatch(/rate limiter is unavailable/);
      expect(proxy.connections()).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });

  it('fails closed with Unavailable when the table server is down', async () => {
    const down = await startEmbeddedTable('down');
    const endpoint = down.endpoint;
    await down.close();
    const limiter = limiterAt(() => T0, 'down', endpoint);
    await expect(limiter(caller, 1)).rejects.toBeInstanceOf(Unavailable);
  });
});

describe('rate limiter write cost over a whole day (dynalite, injected clock)', () => {
  for (const day of typicalCallers()) {
    it(`stays at one write unit per write for ${day.name}`, async () => {
      const cost = await walkDay(table.endpoint, table.tableName, day);
      console.info(JSON.stringify(cost));
      expect(cost.allowed).toBeGreaterThan(0);
      expect(cost.writesAllowed).toBe(cost.allowed);
      expect(cost.unitsAllowed / cost.allowed).toBeLessThanOrEqual(1.1);
      expect(cost.maxUnitsOneWrite).toBeLessThanOrEqual(2);
      expect(cost.maxItemBytes).toBeLessThan(300);
    });
  }
});

describe('callerHash', () => {
  it('depends on the key, so the table cannot be reversed without it', () => {
    expect(callerHash(caller, KEY)).not.toBe(callerHash(caller, `${KEY}x`));
  });

  it('is 32 URL-safe characters', () => {
    expect(callerHash(caller, KEY)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('keeps /64s apart whose groups would run together without separators', () => {
    const a = parseSourceAddress('2001:db8:1:23::1');
    const b = parseSourceAddress('2001:db8:12:3::1');
    expect(callerHash(a, KEY)).not.toBe(callerHash(b, KEY));
  });
});

describe('rateWindows', () => {
  it('gives the minute window, then the day window, from the configured limits', () => {
    expect(rateWindows({ ratePerMinute: 30, ratePerDay: 500 })).toEqual([
      { name: 'minute', seconds: 60, limit: 30 },
      { name: 'day', seconds: 86_400, limit: 500 },
    ]);
  });
});
