import { describe, expect, it } from 'vitest';
import {
  createClient,
  DialbackError,
  NotDialbackError,
  parseRateLimit,
  parseRetryAfter,
} from '../../functions/client/dialback-client.ts';

/** A fetch that answers once with `response` and records the URL asked for. */
function answering(response: Response): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: async (input) => {
      urls.push(String(input));
      return response;
    },
  };
}

describe('dialback client', () => {
  it('reads the RateLimit header into standings', () => {
    expect(parseRateLimit('"minute";r=29;t=41, "day";r=499;t=3600')).toEqual([
      { name: 'minute', remaining: 29, resetSeconds: 41 },
      { name: 'day', remaining: 499, resetSeconds: 3600 },
    ]);
    expect(parseRateLimit(null)).toEqual([]);
    expect(parseRateLimit('"minute";r=x;t=1, garbage')).toEqual([]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('42')).toBe(42);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', Date.UTC(2026, 0, 1, 0, 0, 30))).toBe(30);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('asks /check with the ports joined, trimming a trailing slash from the base', async () => {
    const body = {
      ip: '203.0.113.7',
      family: 4,
      checkedFrom: 'x',
      timeoutMs: 3000,
      egress: { fixed: false, addresses: [], ipv6: true },
      results: [{ port: 22, state: 'open', reason: 'syn-ack', rttMs: 1.5 }],
    };
    const stub = answering(new Response(JSON.stringify(body), { headers: { ratelimit: '"minute";r=28;t=10' } }));
    const answer = await createClient({ api: 'https://api.example/', fetch: stub.fetch }).check([22, 443]);
    expect(stub.urls).toEqual(['https://api.example/check?ports=22,443']);
    expect(answer).toEqual({ data: body, rateLimit: [{ name: 'minute', remaining: 28, resetSeconds: 10 }] });
  });

  it('turns a problem response into a DialbackError with the retry time', async () => {
    const problem = {
      type: 'urn:dialback:problem:rate-limited',
      title: 'Rate limit reached',
      status: 429,
      detail: 'Wait.',
    };
    const stub = answering(
      new Response(JSON.stringify(problem), {
        status: 429,
        headers: { 'content-type': 'application/problem+json', 'retry-after': '17' },
      }),
    );
    const failure = await createClient({ api: 'https://api.example', fetch: stub.fetch })
      .ip()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DialbackError);
    expect(failure).toMatchObject({ status: 429, retryAfterSeconds: 17, problem, message: 'Wait.' });
  });

  it('keeps the status when the error body is not a problem (a proxy page)', async () => {
    const stub = answering(new Response('<html>Bad gateway</html>', { status: 502 }));
    const failure = await createClient({ api: 'https://api.example', fetch: stub.fetch })
      .ip()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(NotDialbackError);
    expect(failure).toMatchObject({
      status: 502,
      problem: undefined,
      message: 'https://api.example/ip answered HTTP 502, text/plain without problem details.',
    });
  });

  it.each([
    ['an HTML page', new Response('<html>hello</html>', { headers: { 'content-type': 'text/html' } }), 'text/html'],
    ['text that is not JSON', new Response('\u0000garbage'), 'text/plain'],
    [
      'JSON of another shape',
      new Response(JSON.stringify({ results: 'nope' }), { headers: { 'content-type': 'application/json' } }),
      'application/json',
    ],
  ])('refuses %s answered with 200 as not a Dialback API, instead of failing later', async (_, response, type) => {
    const failure = await createClient({ api: 'https://api.example', fetch: answering(response).fetch })
      .check([22])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(NotDialbackError);
    expect((failure as Error).message).toBe(
      `https://api.example/check?ports=22 answered HTTP 200, ${type}, not a Dialback API response.`,
    );
  });
});
