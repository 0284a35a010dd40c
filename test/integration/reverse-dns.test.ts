/**
 * Reverse-DNS lookups bounded per caller: `/ip` and `/` once asked the
 * resolver on every request, so one client could spend the stage throttle on uncached PTR
 * lookups. The real lookup runs against a DNS server on loopback (test/support/fake-dns.ts),
 * which counts the questions that reach it. The callers are global addresses because only
 * those are looked up; none is dialed, and every question goes to the loopback server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import { createReverseDns, DEFAULT_LOOKUP_BOUNDS } from '../../functions/core/reverse-dns.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { type FakeDns, startFakeDns } from '../support/fake-dns.ts';
import { testDeps } from '../support/handler-deps.ts';

let dns: FakeDns;
beforeAll(async () => {
  dns = await startFakeDns('answer');
});
afterAll(async () => {
  await dns?.close();
});

function handler(): Handler {
  return createHandler(testDeps({}, { reverseDns: createReverseDns({ timeoutMs: 800, servers: [dns.server] }) }));
}

/** Runs `requests` and returns how many PTR questions reached the resolver meanwhile. */
async function questionsFor(requests: () => Promise<unknown>): Promise<number> {
  const before = dns.queries();
  await requests();
  return dns.queries() - before;
}

async function get(h: Handler, url: string, sourceIp: string): Promise<Record<string, unknown> | string> {
  const response = await h(apiEvent({ url, sourceIp }), lambdaContext());
  expect(response.statusCode).toBe(200);
  return url === '/ip' ? (JSON.parse(response.body) as Record<string, unknown>) : response.body;
}

describe('reverse DNS per caller', () => {
  it('asks once for a caller that repeats /ip, and keeps answering with the name', async () => {
    const h = handler();
    const asked = await questionsFor(async () => {
      for (let i = 0; i < 50; i++)
        expect(await get(h, '/ip', '9.9.9.9')).toMatchObject({ reverseDns: 'host.example.net' });
    });
    expect(asked).toBe(1);
  });

  it('asks once for 50 concurrent requests of one caller, to / and /ip alike', async () => {
    const h = handler();
    const asked = await questionsFor(() =>
      Promise.all(Array.from({ length: 50 }, (_, i) => get(h, i % 2 === 0 ? '/' : '/ip', '9.9.9.10'))),
    );
    expect(asked).toBe(1);
  });

  it(`asks at most ${DEFAULT_LOOKUP_BOUNDS.lookupsPerWindow} times a minute for one IPv6 /64 rotating its addresses`, async () => {
    const h = handler();
    const asked = await questionsFor(async () => {
      for (let i = 1; i <= 50; i++) await get(h, '/ip', `2001:4860:1:2::${i.toString(16)}`);
    });
    expect(asked).toBe(DEFAULT_LOOKUP_BOUNDS.lookupsPerWindow);
  });

  it('keeps one caller from spending another caller’s lookups', async () => {
    const h = handler();
    for (let i = 1; i <= 20; i++) await get(h, '/ip', `2001:4860:1:3::${i.toString(16)}`);
    const asked = await questionsFor(async () => {
      expect(await get(h, '/ip', '9.9.9.11')).toMatchObject({ reverseDns: 'host.example.net' });
      expect(await get(h, '/ip', '2001:4860:1:4::1')).toMatchObject({ reverseDns: 'host.example.net' });
    });
    expect(asked).toBe(2);
  });
});
