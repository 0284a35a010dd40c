import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeps } from '../../functions/api/deps.ts';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import type { HttpResponse } from '../../functions/api/http.ts';
import { ROUTES } from '../../functions/api/routes.ts';
import { buildWebAssets } from '../../functions/build/served-code.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { createRateLimiter, rateWindows } from '../../functions/core/rate-limiter.ts';
import type { WebAssets } from '../../functions/web/assets.ts';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, type EventSpec, lambdaContext } from '../fixtures/events.ts';
import { checkAgainstSpec, expectDocumented, fromHandler, specFor } from '../support/openapi.ts';
import { type Listening, listening, releasedPort } from '../support/ports.ts';

const TABLE = 'dialback-openapi-test';
const ENV = { TABLE_NAME: TABLE, RATE_LIMIT_PER_MINUTE: '4', MAX_PORTS: '3', PROBE_TIMEOUT_MS: '1000' };
/** Mid-minute, so the fixed minute window cannot roll over between two requests of a test. */
const FIXED_NOW = Date.UTC(2026, 0, 1, 12, 0, 30);

let table: EmbeddedTable;
let assets: WebAssets;
let listener: Listening;
let openPort: number;
let closedPort: number;
const doc = specFor(ENV);

function handlerWith(options: { endpoint?: string; webAssets?: boolean; probe?: 'real' | 'broken' } = {}): Handler {
  const config = loadConfig({ ...ENV, DYNAMODB_ENDPOINT: options.endpoint ?? table.endpoint });
  const key = async (): Promise<string> => 'openapi-test-key-0123456789';
  const base = createDeps(config, {
    policy: 'public-and-loopback',
    blockedPorts: [25],
    key,
    log: () => undefined,
    ...(options.webAssets === false ? {} : { webAssets: async () => assets }),
  });
  return createHandler({
    ...base,
    limiter: createRateLimiter({
      client: createDynamoDbClient(config),
      tableName: TABLE,
      windows: rateWindows(config),
      key,
      now: () => FIXED_NOW,
    }),
    ...(options.probe === 'broken'
      ? {
          probe: async () => {
            throw new TypeError('a bug in the probe');
          },
        }
      : {}),
  });
}

/** Sends one event through `handler` and checks the response against the document. */
async function call(handler: Handler, spec: EventSpec): Promise<HttpResponse> {
  const response = await handler(apiEvent(spec), lambdaContext());
  expectDocumented(doc, spec.method ?? 'GET', spec.url ?? '/ip', fromHandler(response));
  return response;
}

beforeAll(async () => {
  table = await startEmbeddedTable(TABLE);
  assets = await buildWebAssets();
  listener = await listening();
  openPort = listener.port;
  closedPort = await releasedPort();
});

afterAll(async () => {
  await listener?.close();
  await table?.close();
});

describe('openapi document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the handler serves', () => {
    const paths = Object.keys(doc.paths as object);
    for (const route of ROUTES) expect(paths).toContain(route.name);
    expect(paths).toHaveLength(ROUTES.length);
  });

  it('is what GET /openapi.json serves, HEAD answers it without a body, and 404 when it was not bundled', async () => {
    const response = await call(handlerWith(), { url: '/openapi.json' });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.body)).toEqual(doc);
    const head = await call(handlerWith(), { url: '/openapi.json', method: 'HEAD' });
    expect([head.statusCode, head.body, Object.keys(head.headers).sort()]).toEqual([
      200,
      '',
      Object.keys(response.headers).sort(),
    ]);
    const missing = await call(handlerWith({ webAssets: false }), { url: '/openapi.json' });
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body).detail).toMatch(/bundled without the OpenAPI document/);
  });

  it('flags a body field, a header or a status it does not describe', () => {
    const egress = { fixed: false, addresses: [], ipv6: true };
    const body = JSON.stringify({ ip: '127.0.0.1', family: 4, reverseDns: null, egress, extra: 1 });
    const headers = {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    };
    expect(checkAgainstSpec(doc, 'GET', '/ip', { status: 200, headers, body })).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
    expect(
      checkAgainstSpec(doc, 'GET', '/ip', { status: 200, headers: { ...headers, 'x-secret': '1' }, body: '{}' }),
    ).toHaveLength(2);
    expect(checkAgainstSpec(doc, 'GET', '/ip', { status: 418, headers, body })).toEqual([
      expect.stringContaining('status 418 is not documented'),
    ]);
    expect(checkAgainstSpec(doc, 'HEAD', '/ip', { status: 200, headers, body })).toEqual([
      expect.stringContaining('HEAD was answered with a body'),
    ]);
    expect(checkAgainstSpec(doc, 'HEAD', '/check/22', { status: 429, headers, body: '' })).toEqual([
      expect.stringContaining('status 429 is not documented'),
    ]);
  });
});

describe('every route and status, as documented', () => {
  it('answers /check/{port} and /check with JSON and text', async () => {
    const handler = handlerWith();
    const one = await call(handler, { url: `/check/${openPort}`, sourceIp: '127.0.0.1' });
    expect(JSON.parse(one.body).results).toEqual([
      { port: openPort, state: 'open', reason: 'syn-ack', rttMs: expect.any(Number) },
    ]);
    const text = await call(handler, {
      url: `/check?ports=${openPort},${closedPort},25`,
      sourceIp: '127.0.0.3',
      headers: { 'user-agent': 'curl/8.5.0' },
    });
    expect(text.headers['content-type']).toMatch(/^text\/plain/);
    expect(text.body).toMatch(new RegExp(`${closedPort}/tcp\\s+closed\\s+conn-refused`));
  });

  it('answers 400, 403, 404 and 405 as problem details', async () => {
    const handler = handlerWith();
    expect((await call(handler, { url: '/check/0', sourceIp: '127.0.0.1' })).statusCode).toBe(400);
    expect((await call(handler, { url: '/check', sourceIp: '127.0.0.1' })).statusCode).toBe(400);
    expect((await call(handler, { url: '/check/22', sourceIp: '10.1.2.3' })).statusCode).toBe(403);
    expect((await call(handler, { url: '/nothing-here' })).statusCode).toBe(404);
    const refused = await call(handler, { method: 'POST', url: '/check/22' });
    expect(refused.statusCode).toBe(405);
    expect(refused.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  it('answers CORS preflights with 204', async () => {
    const response = await call(handlerWith(), {
      method: 'OPTIONS',
      url: '/check',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET' },
    });
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
  });

  it('answers /ip as JSON and as text', async () => {
    const handler = handlerWith();
    const json = await call(handler, { url: '/ip', sourceIp: '127.0.0.1' });
    expect(JSON.parse(json.body)).toMatchObject({ ip: '127.0.0.1', family: 4, reverseDns: null });
    const text = await call(handler, { url: '/ip', sourceIp: '::1', headers: { accept: 'text/plain' } });
    // The address alone on the first line; a loopback caller gets the local-check notice after it.
    expect(text.body).toMatch(/^::1\nThis is a local check: ::1 is not a public address/);
  });

  it('answers 429 with Retry-After on /check and on the page, once the budget is spent', async () => {
    const handler = handlerWith();
    const source = '127.0.0.9';
    expect((await call(handler, { url: `/check?ports=1,2,3`, sourceIp: source })).statusCode).toBe(200);
    const limited = await call(handler, { url: '/check?ports=4,5', sourceIp: source });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBe(30);
    const page = await call(handler, { url: '/?ports=4,5', sourceIp: source });
    expect(page.statusCode).toBe(429);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    // The wait is said once, in the problem's own words.
    expect(page.body.match(/all 2 in 30 s/g)).toEqual(['all 2 in 30 s']);
  });

  it('fails closed with 503 when the rate-limit table is down, on /check and the page', async () => {
    const handler = handlerWith({ endpoint: 'http://127.0.0.1:9' });
    const check = await call(handler, { url: '/check/22', sourceIp: '127.0.0.1' });
    expect(check.statusCode).toBe(503);
    const page = await call(handler, { url: '/?ports=22', sourceIp: '127.0.0.1' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('The rate limiter is unavailable');
  });

  it('answers a bug with a bare 500 on the API and on the page', async () => {
    const handler = handlerWith({ probe: 'broken' });
    expect((await call(handler, { url: '/check/22', sourceIp: '127.0.0.20' })).statusCode).toBe(500);
    expect((await call(handler, { url: '/?ports=22', sourceIp: '127.0.0.21' })).statusCode).toBe(500);
  });

  it('serves the widget as JavaScript, and 404 when it was not bundled', async () => {
    const served = await call(handlerWith(), { url: '/widget.js' });
    expect(served.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(served.body).toBe(assets.widget);
    expect((await call(handlerWith({ webAssets: false }), { url: '/widget.js' })).statusCode).toBe(404);
  });
});

describe('page', () => {
  it('renders verdicts and advice server-side for /?ports=', async () => {
    // Its own loopback address, so its budget is its own and the listener answers there.
    const own = await listening('127.0.0.4');
    const port = own.port;
    let response: HttpResponse;
    try {
      response = await call(handlerWith(), { url: `/?ports=${port},${closedPort}`, sourceIp: '127.0.0.4' });
    } finally {
      await own.close();
    }
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain(`${port}/tcp</span>: <span class="state">open`);
    expect(response.body).toContain(`${closedPort}/tcp</span>: <span class="state">closed`);
    expect(response.body).toContain('not only on 127.0.0.1');
    expect(response.body).toMatch(/Rate budget: 2 of 4 left this minute/);
  });

  // Stripping whitespace would glue the digits: these would probe 2280 and 1901, which nobody asked for.
  it.each([
    ['a plus (a form-encoded space)', '22+80'],
    ['a tab, a newline and a carriage return', '1%099%0A0%0D1'],
  ])('refuses whitespace inside a list (%s) instead of gluing the digits', async (_name, ports) => {
    const response = await call(handlerWith(), { url: `/?ports=${ports}`, sourceIp: '127.0.0.6' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('has spaces or line breaks in it: separate ports with commas only');
    expect(response.body).not.toMatch(/(2280|1901)\/tcp/);
  });

  it('escapes what the caller typed', async () => {
    const response = await call(handlerWith(), {
      url: '/?ports=%3Cscript%3Ealert(1)%3C/script%3E',
      sourceIp: '127.0.0.5',
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).not.toContain('<script>alert');
    expect(response.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('allows only its own hashed style and script', async () => {
    const response = await call(handlerWith(), { url: '/' });
    const csp = response.headers['content-security-policy'] ?? '';
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
    expect(response.body).not.toMatch(/ style="|<script src=|<link /);
    const withoutScript = await call(handlerWith({ webAssets: false }), { url: '/' });
    expect(withoutScript.headers['content-security-policy']).toContain("script-src 'none'");
  });

  it('explains why a private address cannot be checked', async () => {
    const response = await call(handlerWith(), { url: '/', sourceIp: '100.64.1.2' });
    expect(response.body).toContain('carrier-grade NAT range');
  });
});
