import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.ts';
import { LocalProbeError } from '../../functions/core/probe.ts';
import { apiEvent, type EventSpec, lambdaContext } from '../fixtures/events.ts';
import { buildHarness, type Harness, type HarnessOptions } from '../support/handler-harness.ts';
import { useCounterTable } from '../support/table.ts';

const PUBLIC_IP = '8.8.8.8';
const table = useCounterTable('handler');

function harness(options: Partial<HarnessOptions> = {}): Harness {
  return buildHarness({ endpoint: table.endpoint, tableName: table.tableName, ...options });
}

async function call(h: Harness, spec: EventSpec, remainingMs?: number): Promise<HttpResponse> {
  return h.handler(apiEvent({ sourceIp: PUBLIC_IP, ...spec }), lambdaContext(remainingMs));
}

function problem(response: HttpResponse): Record<string, unknown> {
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status: response.statusCode });
  expect(body.type).toMatch(/^urn:dialback:problem:[a-z-]+$/);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect((body.detail as string).length).toBeGreaterThan(10);
  return body;
}

describe('handler: checks', () => {
  it('checks one port on the caller address and answers JSON with the budget', async () => {
    const h = harness();
    const response = await call(h, { url: '/check/443' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.body)).toEqual({
      ip: PUBLIC_IP,
      family: 4,
      checkedFrom: 'local',
      timeoutMs: 3000,
      egress: { fixed: false, addresses: [], ipv6: true },
      results: [{ port: 443, state: 'open', reason: 'syn-ack', rttMs: 1.5 }],
    });
    expect(h.probeCalls).toEqual([
      {
        target: expect.objectContaining({ address: PUBLIC_IP, family: 4 }),
        ports: [443],
        timeoutMs: 3000,
        checkDeadlineMs: expect.any(Number),
      },
    ]);
    expect(response.headers['ratelimit-policy']).toBe('"minute";q=30;w=60, "day";q=500;w=86400');
    expect(response.headers.ratelimit).toMatch(/^"minute";r=29;t=\d+, "day";r=499;t=\d+$/);
  });

  it('checks a list of distinct ports, each counted', async () => {
    const h = harness();
    const response = await call(h, { url: '/check?ports=22,80,22,443' });
    expect(response.statusCode).toBe(200);
    expect(h.probeCalls[0]?.ports).toEqual([22, 80, 443]);
    expect(response.headers.ratelimit).toMatch(/"minute";r=27;/);
  });

  it('dials IPv4-mapped callers over IPv4', async () => {
    const h = harness();
    await call(h, { url: '/check/80', sourceIp: '::ffff:8.8.4.4' });
    expect(h.probeCalls[0]?.target).toMatchObject({ address: '8.8.4.4', family: 4 });
  });

  it('dials the source address whatever spoofing headers or body say', async () => {
    const h = harness();
    const response = await call(h, {
      url: '/check/80?ip=1.1.1.1&target=1.1.1.1&host=1.1.1.1',
      headers: {
        'x-forwarded-for': '1.1.1.1',
        forwarded: 'for=1.1.1.1',
        'x-real-ip': '1.1.1.1',
        'true-client-ip': '1.1.1.1',
        'cf-connecting-ip': '1.1.1.1',
        'x-client-ip': '1.1.1.1',
      },
      body: '{"ip":"1.1.1.1"}',
    });
    expect(response.statusCode).toBe(200);
    expect(h.probeCalls.map((c) => c.target.address)).toEqual([PUBLIC_IP]);
    expect(JSON.parse(response.body).ip).toBe(PUBLIC_IP);
  });

  it('never lets the probe run past the Lambda deadline', async () => {
    const h = harness();
    const response = await call(h, { url: '/check/80' }, 2000);
    expect(response.statusCode).toBe(200);
    expect(h.probeCalls[0]?.timeoutMs).toBeLessThanOrEqual(1500);
  });

  it("lets a check of a rate-limiting host run past the port deadline, never past the Lambda's", async () => {
    const h = harness();
    const response = await call(h, { url: '/check/80' }, 10_000);
    expect(response.statusCode).toBe(200);
    const [probeCall] = h.probeCalls;
    expect(probeCall?.timeoutMs).toBe(3000);
    expect(probeCall?.checkDeadlineMs).toBeGreaterThan(3000);
    // The handler keeps its response margin back from the Lambda's remaining time.
    expect(probeCall?.checkDeadlineMs).toBeLessThanOrEqual(9500);
  });

  it('answers 503 without probing when too little time is left', async () => {
    const h = harness();
    const response = await call(h, { url: '/check/80' }, 600);
    expect(response.statusCode).toBe(503);
    expect(h.probeCalls).toEqual([]);
  });

  it('reports port 25 as untestable when the host blocks it', async () => {
    const h = buildHarness({
      endpoint: table.endpoint,
      tableName: table.tableName,
      blockedPorts: [25],
      probe: (await import('../../functions/core/probe.ts')).probePorts,
    });
    const response = await call(h, { url: '/check/25' });
    expect(JSON.parse(response.body).results).toEqual([
      { port: 25, state: 'untestable', reason: 'blocked-at-source', rttMs: null },
    ]);
  });
});

describe('handler: egress and dial proof', () => {
  it('answers IPv6 callers untestable, without spending budget, when the deployment has no IPv6 egress', async () => {
    const h = harness({ env: { IPV6_EGRESS: 'false' } });
    const response = await call(h, { url: '/check?ports=22,443', sourceIp: '2606:4700::1111' });
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body);
    expect(body.results).toEqual([
      { port: 22, state: 'untestable', reason: 'no-ipv6-egress', rttMs: null },
      { port: 443, state: 'untestable', reason: 'no-ipv6-egress', rttMs: null },
    ]);
    expect(body.egress).toEqual({ fixed: false, addresses: [], ipv6: false });
    expect(h.probeCalls).toEqual([]);
    expect(response.headers.ratelimit).toBeUndefined();
    // IPv4 callers are still checked.
    expect(JSON.parse((await call(h, { url: '/check/22' })).body).results[0].state).toBe('open');
  });

  it('explains no-ipv6-egress and port 25 each in its own words, never the other one', async () => {
    const curl = { 'user-agent': 'curl/8.5.0' };
    const noV6 = harness({ env: { IPV6_EGRESS: 'false' } });
    const v6 = (await call(noV6, { url: '/check/443', sourceIp: '2606:4700::1111', headers: curl })).body;
    expect(v6).toContain('untestable: you called over IPv6 and this deployment cannot send IPv6 at all');
    expect(v6).not.toMatch(/port 25|outbound/i);
    const blocked = buildHarness({
      endpoint: table.endpoint,
      tableName: table.tableName,
      blockedPorts: [25],
      probe: (await import('../../functions/core/probe.ts')).probePorts,
    });
    const smtp = (await call(blocked, { url: '/check/25', headers: curl })).body;
    expect(smtp).toContain('untestable: the cloud provider blocks outbound connections to this port (port 25');
    expect(smtp).not.toMatch(/IPv6/);
  });

  it('tells a curl user an error in text, as it tells results, and JSON clients in problem+json', async () => {
    const h = harness();
    const text = await call(h, { url: '/check/0', headers: { 'user-agent': 'curl/8.5.0' } });
    expect(text.statusCode).toBe(400);
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.body).toMatch(
      /^Bad request \(HTTP 400\): "0" is not a TCP port: give a whole number from 1 to 65535, like 443\.\nRequest id: \S+\n$/,
    );
    const json = await call(h, {
      url: '/check/0',
      headers: { 'user-agent': 'curl/8.5.0', accept: 'application/json' },
    });
    expect(problem(json).detail).toMatch(/is not a TCP port/);
  });

  it('says a check of a non-public address is not a view from the Internet, and where to get one', async () => {
    const curl = { 'user-agent': 'curl/8.5.0' };
    const local = await call(harness({ policy: 'public-and-loopback' }), {
      url: '/check/22',
      sourceIp: '127.0.0.1',
      headers: curl,
    });
    expect(local.body).toContain(
      'This is a local check: 127.0.0.1 is not a public address, so this shows what this machine or network sees, not a view from the Internet. To check from the Internet, deploy Dialback to your AWS account',
    );
    const pointed = await call(
      harness({ policy: 'public-and-loopback', env: { INTERNET_CHECKER_URL: 'https://dialback.example/' } }),
      { url: '/check/22', sourceIp: '127.0.0.1', headers: curl },
    );
    expect(pointed.body).toContain('To check from the Internet, use https://dialback.example.');
    // A public caller's check is the Internet's view: no notice.
    expect((await call(harness(), { url: '/check/22', headers: curl })).body).not.toContain('local check');
    // The page's introduction says where the check runs from: the Internet only when it does.
    const html = { accept: 'text/html' };
    const localPage = await call(harness({ policy: 'public-and-loopback' }), {
      url: '/',
      sourceIp: '127.0.0.1',
      headers: html,
    });
    expect(localPage.body).toContain('open, closed or filtered from this server.');
    expect(localPage.body).not.toContain('filtered from the Internet');
    expect((await call(harness(), { url: '/', headers: html })).body).toContain(
      'open, closed or filtered from the Internet.',
    );
  });

  it('reports fixed egress addresses in checks, /ip and the text output', async () => {
    const h = harness({ env: { EGRESS_ADDRESSES: '198.51.100.10, 2001:db8:1::/56' } });
    const egress = { fixed: true, addresses: ['198.51.100.10', '2001:db8:1::/56'], ipv6: true };
    expect(JSON.parse((await call(h, { url: '/check/22' })).body).egress).toEqual(egress);
    expect(JSON.parse((await call(h, { url: '/ip' })).body).egress).toEqual(egress);
    const text = await call(h, { url: '/check/22', headers: { 'user-agent': 'curl/8.5.0' } });
    expect(text.body).toContain('Probes leave from 198.51.100.10, 2001:db8:1::/56');
  });

  it('passes a valid token to the probe as the one proof line', async () => {
    const h = harness();
    const greetings: (string | undefined)[] = [];
    const recording = buildHarness({
      endpoint: table.endpoint,
      tableName: table.tableName,
      probe: async (_t, ports, options) => {
        greetings.push(options.greeting);
        return ports.map((port) => ({ port, state: 'open' as const, reason: 'syn-ack' as const, rttMs: 1 }));
      },
    });
    await call(recording, { url: '/check/22?token=abcdefghijklmnop_-0123' });
    await call(recording, { url: '/check/22' });
    expect(greetings).toEqual(['DIALBACK abcdefghijklmnop_-0123\n', undefined]);
    for (const bad of ['short', 'a'.repeat(65), 'abcdefghijklmnop%0A', 'abcdefghijklmnop%20x', 'abcdefghijklmnop.x']) {
      const response = await call(h, { url: `/check/22?token=${bad}` });
      expect(response.statusCode).toBe(400);
      expect(response.body).not.toContain(bad);
    }
    expect((await call(h, { url: '/check/22?token=abcdefghijklmnop&token=abcdefghijklmnop' })).statusCode).toBe(400);
    expect(h.probeCalls).toEqual([]);
  });
});

describe('handler: bad input is refused before anything is probed', () => {
  const cases: ReadonlyArray<readonly [string, EventSpec, number, RegExp]> = [
    ['port 0', { url: '/check/0' }, 400, /not a TCP port/],
    ['port 65536', { url: '/check/65536' }, 400, /not a TCP port/],
    ['port -1', { url: '/check/-1' }, 400, /not a TCP port/],
    ['port 1e3', { url: '/check/1e3' }, 400, /not a TCP port/],
    ['port 0x50', { url: '/check/0x50' }, 400, /not a TCP port/],
    ['port with a leading space', { url: '/check/%2080' }, 400, /not a TCP port/],
    ['non-ASCII digits', { url: '/check/%D9%A8%D9%A0' }, 400, /not a TCP port/],
    ['an empty port', { url: '/check/' }, 400, /not a TCP port/],
    ['a malformed escape', { url: '/check/%zz' }, 400, /percent-escape/],
    ['a cut-off UTF-8 escape', { url: '/check/%D9' }, 400, /percent-escape/],
    // A "+" is a space only in a query; in a path it is itself, and shown as itself.
    ['a plus sign in the path', { url: '/check/+80' }, 400, /^"\+80" is not a TCP port/],
    ['an Accept header refusing everything', { url: '/check/80', headers: { accept: '*/*;q=0' } }, 406, /Accept/],
    [
      'an Accept header refusing both JSON and text',
      { url: '/ip', headers: { accept: 'application/json;q=0, text/plain;q=0, application/problem+json' } },
      406,
      /Accept/,
    ],
    ['a page request refusing HTML', { url: '/?ports=80', headers: { accept: 'text/html;q=0' } }, 406, /Accept/],
    ['no ports parameter', { url: '/check' }, 400, /Say which ports/],
    ['an empty ports list', { url: '/check?ports=' }, 400, /empty/],
    ['a repeated ports parameter', { url: '/check?ports=22&ports=80' }, 400, /once/],
    ['too many ports', { url: '/check?ports=1,2,3,4,5,6,7,8,9,10,11' }, 400, /at most 10/],
    ['a malformed list', { url: '/check?ports=22,,80' }, 400, /empty item/],
    ['a space inside a list', { url: '/check?ports=22+80' }, 400, /spaces or line breaks/],
    ['a comma and a space', { url: '/check?ports=22,%2080' }, 400, /spaces or line breaks/],
    ['an 8 KB query', { url: `/check?ports=${'1,'.repeat(4096)}1` }, 400, /characters long/],
    ['an unknown route', { url: '/nope' }, 404, /no "\/nope"/],
    ['a trailing slash', { url: '/ip/' }, 404, /no/],
    ['a nested path', { url: '/check/80/81' }, 404, /no/],
    ['POST', { url: '/check/80', method: 'POST' }, 405, /GET and HEAD only/],
    ['DELETE', { url: '/ip', method: 'DELETE' }, 405, /GET and HEAD only/],
    ['a loopback caller in deployed mode', { url: '/check/80', sourceIp: '127.0.0.1' }, 403, /loopback/],
    ['a private caller in deployed mode', { url: '/check/80', sourceIp: '192.168.0.10' }, 403, /private/],
    ['a CGNAT caller', { url: '/check/80', sourceIp: '100.64.3.4' }, 403, /carrier-grade NAT/],
    ['the metadata address', { url: '/check/80', sourceIp: '169.254.169.254' }, 403, /link-local/],
    ['an unparsable source', { url: '/check/80', sourceIp: 'evil.example' }, 400, /could not be read/],
  ];
  it.each(cases)('%s → %i problem+json', async (_name, spec, status, detail) => {
    const h = harness();
    const response = await call(h, spec);
    expect(response.statusCode).toBe(status);
    expect(problem(response).detail).toMatch(detail);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(h.probeCalls).toEqual([]);
  });

  it('names the allowed methods on 405', async () => {
    const response = await call(harness(), { url: '/check/80', method: 'PUT' });
    expect(response.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  it('does not echo an unbounded path back', async () => {
    const response = await call(harness(), { url: `/${'a'.repeat(5000)}` });
    expect(response.statusCode).toBe(404);
    expect(response.body.length).toBeLessThan(500);
  });
});

describe('handler: HEAD', () => {
  // HEAD /openapi.json is in openapi.test.ts, whose handler has the files built beside it.
  it.each(['/', '/ip', '/regions'])('answers HEAD %s with the GET status and headers and no body', async (url) => {
    const h = harness();
    const get = await call(h, { url });
    const head = await call(h, { url, method: 'HEAD' });
    expect(get.body).not.toBe('');
    expect(head.statusCode).toBe(get.statusCode);
    expect(head.body).toBe('');
    // The page's CSP and every other header are the GET's.
    expect(Object.keys(head.headers).sort()).toEqual(Object.keys(get.headers).sort());
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
  });

  it('answers HEAD on a check without probing or charging the budget', async () => {
    const h = harness();
    // UDP too: HEAD with udp= validates the list but sends no datagram.
    for (const url of [
      '/check/443',
      '/check?ports=22,80',
      '/?ports=22',
      '/check/udp/51820',
      '/check?ports=22&udp=53,51820',
      '/?ports=&udp=51820',
    ]) {
      const head = await call(h, { url, method: 'HEAD' });
      expect(head.statusCode).toBe(200);
      expect(head.body).toBe('');
      expect(head.headers.ratelimit).toBeUndefined();
    }
    expect(h.probeCalls).toEqual([]);
    // The first GET still has the whole minute's budget: HEAD spent nothing.
    const get = await call(h, { url: '/check/443' });
    expect(get.headers.ratelimit).toMatch(/^"minute";r=29;/);
  });

  it.each([
    ['/check/0', '8.8.8.8', 400],
    ['/check?ports=22,,80', '8.8.8.8', 400],
    ['/check/80?token=short', '8.8.8.8', 400],
    ['/check/80', '10.0.0.1', 403],
    ['/?ports=0', '8.8.8.8', 400],
    ['/?ports=22', '10.0.0.1', 403],
    ['/check/udp/0', '8.8.8.8', 400],
    ['/check?udp=53,,123', '8.8.8.8', 400],
    ['/?ports=&udp=0', '8.8.8.8', 400],
    ['/check/udp/53', '10.0.0.1', 403],
    ['/nowhere', '8.8.8.8', 404],
  ])('refuses HEAD %s from %s as the GET would (%i), without a body', async (url, sourceIp, status) => {
    const h = harness();
    const get = await call(h, { url, sourceIp });
    const head = await call(h, { url, sourceIp, method: 'HEAD' });
    expect(get.statusCode).toBe(status);
    expect(head.statusCode).toBe(status);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(h.probeCalls).toEqual([]);
  });
});

describe('handler: rate limiting', () => {
  it('answers 429 with Retry-After and RateLimit headers once the budget is spent', async () => {
    const h = harness({
      env: { RATE_LIMIT_PER_MINUTE: '3', MAX_PORTS: '3' },
      now: () => Date.UTC(2026, 0, 1, 0, 0, 15),
    });
    expect((await call(h, { url: '/check?ports=1,2' })).statusCode).toBe(200);
    const refused = await call(h, { url: '/check?ports=3,4' });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.headers['ratelimit-policy']).toBe('"minute";q=3;w=60, "day";q=500;w=86400');
    expect(refused.headers.ratelimit).toBe('"minute";r=1;t=45, "day";r=498;t=86385');
    expect(problem(refused)).toMatchObject({ retryAfterSeconds: 45 });
    expect(h.probeCalls).toHaveLength(1);
    expect((await call(h, { url: '/check/5' })).statusCode).toBe(200);
  });

  it('fails closed with 503 and no probe when the table is unavailable', async () => {
    const h = buildHarness({ endpoint: table.endpoint, tableName: 'missing-table' });
    const response = await call(h, { url: '/check/80' });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
    expect(problem(response).detail).toMatch(/rate limiter is unavailable/);
    expect(h.probeCalls).toEqual([]);
  });

  it('answers a local probe failure with 503, never as a port state', async () => {
    const h = harness({
      probe: async () => {
        throw new LocalProbeError('EMFILE');
      },
    });
    const response = await call(h, { url: '/check?ports=1,2' });
    expect(response.statusCode).toBe(503);
    expect(problem(response).detail).toMatch(/out of network resources/);
  });

  it('answers an unexpected failure with a bare 500 and logs its cause without the address', async () => {
    const h = harness({
      probe: async () => {
        throw new TypeError(`boom while dialing ${PUBLIC_IP}`);
      },
    });
    const response = await call(h, { url: '/check/80' });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('boom');
    const line = h.logLines.at(-1);
    expect(line).toMatchObject({ level: 'error', status: 500, errorType: 'TypeError' });
    expect(JSON.stringify(line)).not.toContain(PUBLIC_IP);
  });
});

describe('handler: representation', () => {
  it.each([
    ['curl/8.5.0', undefined, 'text'],
    ['Wget/1.21', undefined, 'text'],
    ['HTTPie/3.2.2', undefined, 'text'],
    ['curl/8.5.0', '*/*', 'text'],
    ['curl/8.5.0', 'application/json', 'json'],
    ['Mozilla/5.0', undefined, 'json'],
    ['Mozilla/5.0', 'text/plain', 'text'],
    ['python-requests/2.31', 'text/plain;q=0.5, application/json', 'json'],
    ['python-requests/2.31', 'application/json;q=0.2, text/plain', 'text'],
    // q=0 means "not this" (RFC 9110 §12.4.2), not "this, last".
    ['curl/8.5.0', 'text/plain;q=0', 'json'],
    ['curl/8.5.0', 'text/*;q=0, */*', 'json'],
    ['curl/8.5.0', 'text/plain;q=0.000', 'json'],
    ['Mozilla/5.0', 'application/json;q=0', 'text'],
    ['Mozilla/5.0', 'application/json;q=0, */*;q=0.1', 'text'],
  ])('UA %s with Accept %s gets %s', async (ua, accept, kind) => {
    const response = await call(harness(), {
      url: '/check/443',
      headers: { 'user-agent': ua, ...(accept === undefined ? {} : { accept }) },
    });
    expect(response.statusCode).toBe(200);
    if (kind === 'text') {
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(response.body).toMatch(/^PORT\s+STATE\s+REASON\s+RTT$/m);
      expect(response.body).toMatch(/^443\/tcp\s+open\s+syn-ack\s+1\.5 ms$/m);
    } else {
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(response.body).results[0].state).toBe('open');
    }
  });

  it('says to check a port again on its own when its silence may be a rate-limited reject', async () => {
    const h = harness({
      probe: async (_target, ports) =>
        ports.map((port) =>
          port === 8080
            ? { port, state: 'filtered', reason: 'no-response', rttMs: null, hint: 'icmp-rate-limit' }
            : { port, state: 'closed', reason: 'conn-refused', rttMs: 0.4 },
        ),
    });
    const advice = 'Check this port again on its own.';
    // JSON: the hint rides on the port (the harness checks it against the OpenAPI document).
    const json = await call(h, { url: '/check?ports=8079,8080' });
    expect(JSON.parse(json.body).results).toEqual([
      { port: 8079, state: 'closed', reason: 'conn-refused', rttMs: 0.4 },
      { port: 8080, state: 'filtered', reason: 'no-response', rttMs: null, hint: 'icmp-rate-limit' },
    ]);
    // curl and the CLI: one line under the table, naming the port.
    const text = await call(h, { url: '/check?ports=8079,8080', headers: { 'user-agent': 'curl/8.5.0' } });
    expect(text.body).toMatch(/^8080\/tcp\s+filtered\s+no-response\s+-$/m);
    const notes = text.body.split('\n').filter((l) => l.includes(advice));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^8080\/tcp: .*ICMP errors/);
    // The page: on the port's card only.
    const page = await call(h, { url: '/?ports=8079,8080', headers: { accept: 'text/html' } });
    const cards = page.body.split('<article').slice(1);
    expect(cards.filter((c) => c.includes(advice)).map((c) => />(\d+)\/tcp</.exec(c)?.[1])).toEqual(['8080']);
  });

  it('looks up reverse DNS for global addresses only, and answers /ip to any caller', async () => {
    const asked: string[] = [];
    // The deployed policy (public-only): /ip reports the address and never applies it.
    const withDns = buildHarness({
      endpoint: table.endpoint,
      tableName: table.tableName,
      reverseDns: async (address) => {
        asked.push(address);
        return 'host.example.net';
      },
    });
    expect(JSON.parse((await call(withDns, { url: '/ip' })).body).reverseDns).toBe('host.example.net');
    expect(JSON.parse((await call(withDns, { url: '/ip', sourceIp: '127.0.0.1' })).body).reverseDns).toBeNull();
    expect(JSON.parse((await call(withDns, { url: '/ip', sourceIp: '198.18.0.2' })).body).reverseDns).toBeNull();
    const privateCaller = await call(withDns, { url: '/ip', sourceIp: '10.1.2.3' });
    expect(privateCaller.statusCode).toBe(200);
    expect(JSON.parse(privateCaller.body)).toMatchObject({ ip: '10.1.2.3', reverseDns: null });
    expect(asked).toEqual([PUBLIC_IP]);
  });

  it('answers /ip with the address, family and reverse name, and bare text for curl', async () => {
    const h = harness();
    const json = await call(h, { url: '/ip', sourceIp: '2606:4700::1111' });
    expect(JSON.parse(json.body)).toEqual({
      ip: '2606:4700::1111',
      family: 6,
      reverseDns: null,
      egress: { fixed: false, addresses: [], ipv6: true },
      endpoints: { ipv4: null, dualStack: null },
      // This harness has no dataset (test/integration/ip-holder.test.ts has).
      asn: null,
      org: null,
      country: null,
      networkKind: null,
      dataDate: null,
    });
    const text = await call(h, { url: '/ip', headers: { 'user-agent': 'curl/8.5.0' } });
    expect(text.body).toBe(`${PUBLIC_IP}\n`);
  });

  it.each([
    [{ API_URL_IPV4: 'https://v4.example/' }, { ipv4: 'https://v4.example', dualStack: null }],
    [
      { API_URL_IPV4: 'https://v4.example', API_URL_DUAL_STACK: 'https://ds.example/prod' },
      { ipv4: 'https://v4.example', dualStack: 'https://ds.example/prod' },
    ],
  ])('says in /ip which endpoints exist (%j)', async (env, endpoints) => {
    const h = harness({ env });
    expect(JSON.parse((await call(h, { url: '/ip' })).body).endpoints).toEqual(endpoints);
  });
});

describe('handler: CORS and caching', () => {
  const statuses: ReadonlyArray<readonly [number, EventSpec]> = [
    [200, { url: '/check/80' }],
    [400, { url: '/check/0' }],
    [403, { url: '/check/80', sourceIp: '10.0.0.1' }],
    [404, { url: '/nope' }],
    [405, { url: '/ip', method: 'PATCH' }],
    [204, { url: '/check/80', method: 'OPTIONS', headers: { 'access-control-request-method': 'GET' } }],
  ];
  it.each(statuses)('%i carries Cache-Control no-store and open CORS', async (status, spec) => {
    const response = await call(harness(), { ...spec, headers: { origin: 'https://app.example', ...spec.headers } });
    expect(response.statusCode).toBe(status);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-expose-headers']).toContain('RateLimit');
  });

  it('answers a preflight with the allowed methods and requested headers, without probing', async () => {
    const h = harness();
    const response = await call(h, {
      url: '/check?ports=80',
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'accept, x-widget',
      },
    });
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
    expect(response.headers['access-control-allow-headers']).toBe('accept, x-widget');
    expect(response.body).toBe('');
    expect(h.probeCalls).toEqual([]);
  });

  it('echoes only listed origins when CORS is restricted', async () => {
    const h = harness({ env: { CORS_ALLOW_ORIGINS: 'https://ok.example' } });
    const ok = await call(h, { url: '/ip', headers: { origin: 'https://ok.example' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://ok.example');
    expect(ok.headers.vary).toBe('Origin');
    const other = await call(h, { url: '/ip', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers.vary).toBe('Origin');
  });

  it("always admits the deployment's own endpoints, whose page checks through the other", async () => {
    const h = harness({
      env: {
        CORS_ALLOW_ORIGINS: 'https://ok.example',
        API_URL_IPV4: 'https://v4.example/prod',
        API_URL_DUAL_STACK: 'https://ds.example',
      },
    });
    for (const origin of ['https://v4.example', 'https://ds.example', 'https://ok.example']) {
      const response = await call(h, { url: '/ip', headers: { origin } });
      expect(response.headers['access-control-allow-origin']).toBe(origin);
    }
    const other = await call(h, { url: '/ip', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('handler: logs', () => {
  it('writes one JSON line per request with counts, never the address or its ports', async () => {
    const h = harness();
    await call(h, { url: '/check?ports=22,80', sourceIp: '2606:4700::1111' });
    await call(h, { url: '/check/0', sourceIp: '2606:4700::1111' });
    await call(h, { url: '/ip', sourceIp: '2606:4700::1111' });
    expect(h.logLines).toHaveLength(3);
    expect(h.logLines[0]).toMatchObject({
      level: 'info',
      message: 'request',
      route: '/check',
      method: 'GET',
      status: 200,
      ports: 2,
      states: { open: 2 },
    });
    expect(h.logLines[0]?.requestId).toMatch(/^test-request-/);
    expect(typeof h.logLines[0]?.durationMs).toBe('number');
    const all = JSON.stringify(h.logLines);
    expect(all).not.toMatch(/2606|4700|1111/);
    expect(all).not.toMatch(/\b22\b.*\b80\b/);
  });

  it('warns, with a count, when the runtime reported a connection the kernel did not hold', async () => {
    // The probe's hook is the only way to show it: a runtime misreport cannot be made on demand.
    const h = harness({
      probe: async (_target, ports, options) => {
        const socket = new net.Socket();
        options.onUnproven?.(ports[0] ?? 0, socket);
        options.onUnproven?.(ports[0] ?? 0, socket);
        return ports.map((port) => ({ port, state: 'closed', reason: 'conn-refused', rttMs: 0.2 }) as const);
      },
    });
    await call(h, { url: '/check/8080', sourceIp: '2606:4700::1111' });
    expect(h.logLines[0]).toMatchObject({ level: 'warn', message: 'request', status: 200, unprovenConnects: 2 });
    expect(h.logLines).toHaveLength(1);
    expect(JSON.stringify(h.logLines)).not.toMatch(/8080/);
  });
});
