/**
 * `GET /regions` through the real handler: a primary lists every region from
 * REGIONS, itself first; any other deployment lists itself alone, by its configured URL or,
 * locally, by the origin the request came in on. Every answer is checked against the OpenAPI
 * document by the harness, and nothing is spent or dialed. Also the page of a primary: its
 * regions section, the data its script builds the primary's column from, and its connect-src.
 */
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.ts';
import { apiEvent, type EventSpec, lambdaContext } from '../fixtures/events.ts';
import { buildHarness, type Harness } from '../support/handler-harness.ts';
import { useCounterTable } from '../support/table.ts';

const table = useCounterTable('regions');

function harness(env: Record<string, string>): Harness {
  return buildHarness({ endpoint: table.endpoint, tableName: table.tableName, env });
}

async function call(h: Harness, spec: EventSpec = {}): Promise<HttpResponse> {
  return h.handler(apiEvent({ url: '/regions', sourceIp: '8.8.8.8', ...spec }), lambdaContext());
}

const PRIMARY = {
  AWS_REGION: 'eu-central-1',
  API_URL_IPV4: 'https://p1.execute-api.eu-central-1.amazonaws.com',
  REGIONS:
    'eu-central-1=https://p1.execute-api.eu-central-1.amazonaws.com,us-east-1=https://u2.execute-api.us-east-1.amazonaws.com',
};

describe('GET /regions', () => {
  it('lists every region of a multi-region primary, itself first, and checks nothing', async () => {
    const h = harness(PRIMARY);
    const response = await call(h);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      regions: [
        { name: 'eu-central-1', api: 'https://p1.execute-api.eu-central-1.amazonaws.com' },
        { name: 'us-east-1', api: 'https://u2.execute-api.us-east-1.amazonaws.com' },
      ],
    });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(h.probeCalls).toEqual([]);
  });

  it('answers one line per region to a terminal client', async () => {
    const response = await call(harness(PRIMARY), { headers: { 'user-agent': 'curl/8.5.0' } });
    expect(response.body).toBe(
      'eu-central-1 https://p1.execute-api.eu-central-1.amazonaws.com\nus-east-1 https://u2.execute-api.us-east-1.amazonaws.com\n',
    );
  });

  it('lists a one-region deployment alone, by its configured URL', async () => {
    const response = await call(harness({ AWS_REGION: 'us-east-1', API_URL_IPV4: 'https://x.example/' }));
    expect(JSON.parse(response.body)).toEqual({ regions: [{ name: 'us-east-1', api: 'https://x.example' }] });
  });

  it('lists the local server by the origin the request came in on', async () => {
    const local = harness({});
    const plain = await call(local, { headers: { host: '127.0.0.1:8787' } });
    expect(JSON.parse(plain.body)).toEqual({ regions: [{ name: 'local', api: 'http://api.example.com' }] });
    const https = await call(local, { headers: { 'x-forwarded-proto': 'https' } });
    expect(JSON.parse(https.body)).toEqual({ regions: [{ name: 'local', api: 'https://api.example.com' }] });
  });

  it('never echoes a host that is not a host', async () => {
    const event = apiEvent({ url: '/regions' });
    const hostile = { ...event, requestContext: { ...event.requestContext, domainName: 'evil"/><script>' } };
    const response = await harness({}).handler(hostile, lambdaContext());
    expect(JSON.parse(response.body)).toEqual({ regions: [{ name: 'local', api: 'http://localhost' }] });
  });

  it('answers GET only', async () => {
    const response = await call(harness(PRIMARY), { method: 'POST' });
    expect(response.statusCode).toBe(405);
  });
});

describe('the page on a multi-region primary', () => {
  it('names the other regions, carries its own check for their table, and may connect to its endpoints and their origins only', async () => {
    const h = harness(PRIMARY);
    const response = await call(h, { url: '/?ports=443', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('id="regions-section"');
    expect(response.body).toContain('This service also checks from us-east-1');
    const data = /id="primary-check" data-answer="([^"]*)"/.exec(response.body)?.[1] ?? '';
    const answer = JSON.parse(data.replaceAll('&quot;', '"')) as { check: { checkedFrom: string; results: unknown[] } };
    expect(answer.check.checkedFrom).toBe('eu-central-1');
    expect(answer.check.results).toEqual([{ port: 443, state: 'open', reason: 'syn-ack', rttMs: 1.5 }]);
    expect(h.probeCalls).toHaveLength(1);
    // Its own IPv4 endpoint (where the page checks IPv4 beside IPv6), then the other region.
    expect(response.headers['content-security-policy']).toContain(
      "connect-src 'self' https://p1.execute-api.eu-central-1.amazonaws.com https://u2.execute-api.us-east-1.amazonaws.com;",
    );
  });

  it('carries the problem when its own check was refused', async () => {
    const response = await call(harness(PRIMARY), { url: '/?ports=0', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/id="primary-check" data-answer="\{&quot;problem&quot;:\{/);
  });

  it('is the one-region page elsewhere: no section, no data, fetches to itself only', async () => {
    const response = await call(harness({ AWS_REGION: 'us-east-1' }), {
      url: '/?ports=443',
      headers: { accept: 'text/html' },
    });
    expect(response.body).not.toContain('regions-section');
    expect(response.body).not.toContain('primary-check');
    expect(response.headers['content-security-policy']).toContain("connect-src 'self';");
  });
});
