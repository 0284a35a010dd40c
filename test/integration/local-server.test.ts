import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { parseProxyTrust } from '../../infra/local/forwarded.ts';
import { getOnce, type SimpleResponse } from '../support/http-client.ts';
import { startLocalChild } from '../support/local-child.ts';
import { skipReason } from '../support/requirements.ts';

const exec = promisify(execFile);
const noPrlimit = await skipReason('out-of-descriptors test', ['prlimit']);

/** A GET from a chosen loopback source address, with chosen headers. */
function get(url: string, headers: Record<string, string> = {}, localAddress = '127.0.0.1'): Promise<SimpleResponse> {
  return getOnce(url, { headers, localAddress });
}

async function listen(host: string): Promise<{ port: number; peers: string[]; close: () => Promise<void> }> {
  const peers: string[] = [];
  const server = net.createServer((s) => {
    peers.push(s.remoteAddress ?? '');
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('local server (in process)', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', port: 0, allowNonPublic: false });
  });
  afterAll(async () => {
    await app?.close();
  });

  it.each([
    '/',
    '/ip',
    '/openapi.json',
    '/widget.js',
    '/?ports=22',
    '/check/22',
  ])('answers HEAD %s with the GET status and headers and no body (curl -I)', async (path) => {
    const head = await getOnce(`${app.url}${path}`, { method: 'HEAD', headers: { 'user-agent': 'curl/8.5.0' } });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['cache-control']).toBe('no-store');
    expect(head.headers['content-type']).toMatch(/^(text|application)\//);
    // Content-Length on HEAD may only be the GET's length (RFC 9110 §8.6); the server sends none.
    expect(head.headers['content-length']).toBeUndefined();
    if (!path.includes('check') && !path.includes('ports')) {
      const got = await get(`${app.url}${path}`, { 'user-agent': 'curl/8.5.0' });
      expect(head.headers['content-type']).toBe(got.headers['content-type']);
    }
  });

  it('checks loopback callers when bound to loopback, in text for curl', async () => {
    const l = await listen('127.0.0.1');
    try {
      const reply = await get(`${app.url}/check/${l.port}`, { 'user-agent': 'curl/8.5.0' });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(reply.body).toMatch(new RegExp(`^${l.port}/tcp\\s+open\\s+syn-ack\\s+[\\d.]+ ms$`, 'm'));
    } finally {
      await l.close();
    }
  });

  it('dials the socket address, never one named by X-Real-IP, True-Client-IP or CF-Connecting-IP', async () => {
    // The listener exists only on 127.0.0.5; the headers all name 127.0.0.1, where nothing listens.
    const l = await listen('127.0.0.5');
    try {
      const spoof = '127.0.0.1';
      const url = `${app.url}/check/${l.port}`;
      const others = { 'x-real-ip': spoof, 'true-client-ip': spoof, 'cf-connecting-ip': spoof };
      const reply = await get(url, { accept: 'application/json', ...others }, '127.0.0.5');
      expect(reply.status).toBe(200);
      const body = JSON.parse(reply.body);
      expect(body.ip).toBe('127.0.0.5');
      expect(body.results[0]).toMatchObject({ port: l.port, state: 'open' });
      const dialed = l.peers.length;
      expect(dialed).toBeGreaterThan(0);
      // X-Forwarded-For and Forwarded from loopback mean a proxy this server does not trust:
      // refused, and nothing is dialed (neither the proxy's machine nor the named address).
      const forwardings: Array<Record<string, string>> = [{ 'x-forwarded-for': spoof }, { forwarded: `for=${spoof}` }];
      for (const forwarding of forwardings) {
        const refused = await get(url, { accept: 'application/json', ...forwarding }, '127.0.0.5');
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body).type).toMatch(/untrusted-proxy$/);
      }
      expect(l.peers.length).toBe(dialed);
    } finally {
      await l.close();
    }
  });

  it('answers the true closed state of a released port', async () => {
    const l = await listen('127.0.0.1');
    await l.close();
    const reply = await get(`${app.url}/check?ports=${l.port}`, { accept: 'application/json' });
    expect(JSON.parse(reply.body).results[0]).toMatchObject({ state: 'closed', reason: 'conn-refused' });
  });

  it('refuses a request body larger than it reads with 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${app.url}/ip`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(Buffer.alloc(100 * 1024, 'a'));
    });
    expect(status).toBe(413);
  });
});

describe('local server serving the endpoint pair (127.0.0.1 and ::1)', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', ipv6Host: '::1', port: 0, allowNonPublic: false });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers IPv4 callers on 127.0.0.1 and IPv6 callers on ::1, and /ip names both endpoints', async () => {
    const endpoints = { ipv4: app.url, dualStack: `http://localhost:${app.port}` };
    expect(app.endpoints).toEqual(endpoints);
    const v4 = JSON.parse((await get(`${app.url}/ip`)).body);
    expect(v4).toMatchObject({ ip: '127.0.0.1', family: 4, endpoints });
    const v6 = JSON.parse((await get(`http://[::1]:${app.port}/ip`, {}, '::1')).body);
    expect(v6).toMatchObject({ ip: '::1', family: 6, endpoints });
  });

  it('checks ::1 over IPv6 through the dual-stack listener', async () => {
    const l = await listen('127.0.0.1');
    try {
      // Bound to 127.0.0.1 only: open over IPv4, closed over IPv6.
      const v4 = JSON.parse((await get(`${app.url}/check/${l.port}`)).body);
      const v6 = JSON.parse((await get(`http://[::1]:${app.port}/check/${l.port}`, {}, '::1')).body);
      expect([v4.family, v4.results[0].state]).toEqual([4, 'open']);
      expect([v6.family, v6.results[0].state]).toEqual([6, 'closed']);
    } finally {
      await l.close();
    }
  });
});

describe('local server (as npm start runs it)', () => {
  it('prints its URL and the endpoint pair, checks loopback callers when bound to loopback, and exits 0 on SIGTERM', async () => {
    const child = await startLocalChild(['--host', '127.0.0.1', '--port', '0']);
    const l = await listen('127.0.0.1');
    try {
      expect(child.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(child.output()).toContain('targets: public-and-loopback');
      const port = new URL(child.url).port;
      expect(child.output()).toContain(`IPv4-only ${child.url}, dual-stack http://localhost:${port}`);
      const v6 = JSON.parse((await get(`http://[::1]:${port}/ip`, {}, '::1')).body);
      expect(v6).toMatchObject({ family: 6, endpoints: { ipv4: child.url, dualStack: `http://localhost:${port}` } });
      expect((await get(`${child.url}/check/${l.port}`)).status).toBe(200);
      expect(l.peers).toEqual(['127.0.0.1']);
    } finally {
      await l.close();
      expect(await child.stop()).toBe(0);
    }
  });

  it('bound beyond loopback, refuses a loopback caller with 403 and dials nothing', async () => {
    // 0.0.0.0 is reachable from the LAN, so the loopback exemption must not apply; the
    // request itself still arrives over loopback.
    const child = await startLocalChild(['--host', '0.0.0.0', '--port', '0']);
    const l = await listen('127.0.0.1');
    try {
      expect(child.output()).toContain('targets: public-only');
      const port = new URL(child.url).port;
      const reply = await get(`http://127.0.0.1:${port}/check/${l.port}`, { accept: 'application/json' });
      expect(reply.status).toBe(403);
      expect(JSON.parse(reply.body).detail).toMatch(/loopback/);
      expect(l.peers).toEqual([]);
    } finally {
      await l.close();
      expect(await child.stop()).toBe(0);
    }
  });

  it('serves IPv4 alone with --ipv6-host none, and refuses an --ipv6-host that is not IPv6', async () => {
    const child = await startLocalChild(['--port', '0', '--ipv6-host', 'none']);
    try {
      expect(JSON.parse((await get(`${child.url}/ip`)).body).endpoints).toEqual({ ipv4: child.url, dualStack: null });
      expect(child.output()).not.toContain('dual-stack');
    } finally {
      expect(await child.stop()).toBe(0);
    }
    await expect(startLocalChild(['--port', '0', '--ipv6-host', '127.0.0.2'])).rejects.toThrow(
      /--ipv6-host must be an IPv6 address/,
    );
  });

  it('serves IPv4 alone with IPV6_EGRESS=false and says why, and refuses an --ipv6-host it could not serve', async () => {
    const child = await startLocalChild(['--port', '0'], { IPV6_EGRESS: 'false' });
    try {
      expect(child.output()).toContain('IPV6_EGRESS is false: serving IPv4 alone');
      expect(child.output()).not.toContain('API_URL_DUAL_STACK');
      expect(JSON.parse((await get(`${child.url}/ip`)).body).endpoints).toEqual({ ipv4: child.url, dualStack: null });
      const port = new URL(child.url).port;
      await expect(get(`http://[::1]:${port}/ip`, {}, '::1')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      expect(await child.stop()).toBe(0);
    }
    await expect(startLocalChild(['--port', '0', '--ipv6-host', '::1'], { IPV6_EGRESS: 'false' })).rejects.toThrow(
      /--ipv6-host ::1 would let IPv6 callers in, but IPV6_EGRESS is false/,
    );
  });

  it.each([
    ['127.0.0.1', 200],
    ['0.0.0.0', undefined],
  ])('bound to %s, the start-up hint suggests no URL that answers 403', async (host, status) => {
    const child = await startLocalChild(['--host', host, '--port', '0']);
    try {
      const urls = [...child.output().matchAll(/curl -s (http:\/\/\S+)/g)].map((m) => m[1] ?? '');
      const real = urls.filter((u) => !u.includes('PUBLIC-ADDRESS'));
      if (status === undefined) {
        // Public callers only: no URL on this machine can work, so none is offered.
        expect(real).toEqual([]);
        expect(child.output()).toContain("at this machine's public address: curl -s http://PUBLIC-ADDRESS:");
      } else {
        expect(real).toHaveLength(1);
        for (const url of real) expect((await get(url)).status).toBe(status);
      }
    } finally {
      await child.stop();
    }
  });

  it('fails at start with a message naming a bad setting', async () => {
    await expect(startLocalChild(['--port', '0'], { MAX_PORTS: 'lots' })).rejects.toThrow(
      /MAX_PORTS must be a whole number/,
    );
  });

  it('answers 503 when the table it was pointed at is down', async () => {
    const table = await startEmbeddedTable('dialback-rate-limits');
    const child = await startLocalChild(['--port', '0'], { DYNAMODB_ENDPOINT: table.endpoint });
    try {
      await table.close();
      const reply = await get(`${child.url}/check/9`);
      expect(reply.status).toBe(503);
      expect(reply.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(reply.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await child.stop();
      await table.close();
    }
  });

  it.runIf(noPrlimit === undefined)('answers 503, not a port state, when it runs out of file descriptors', async () => {
    const child = await startLocalChild(['--port', '0']);
    const l = await listen('127.0.0.1');
    try {
      // Warm up: opens the SDK's keep-alive connection to the embedded table.
      expect((await get(`${child.url}/check/${l.port}`)).status).toBe(200);
      const { stdout } = await exec('ls', [`/proc/${child.pid}/fd`]);
      const open = stdout.split('\n').filter(Boolean).length;
      // Room for the request's own socket and little else: ten probe sockets cannot all open.
      await exec('prlimit', [`--pid=${child.pid}`, `--nofile=${open + 3}:${open + 3}`]);
      const ports = Array.from({ length: 10 }, (_, i) => l.port + i).join(',');
      const reply = await get(`${child.url}/check?ports=${ports}`, { accept: 'application/json' });
      expect(reply.status).toBe(503);
      expect(JSON.parse(reply.body).detail).toMatch(/out of network resources/);
      expect(child.output()).toMatch(/"errorCode":"EMFILE"/);
    } finally {
      await l.close();
      await child.stop();
    }
  });
});

describe('local server while it starts', () => {
  it('answers a request that arrives before the handler is ready with 503 problem+json and Retry-After', async () => {
    let early: SimpleResponse | undefined;
    const app = await startLocalApp({
      env: {},
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
      whenListening: async (url) => {
        early = await get(`${url}/check/22`, { accept: 'application/json' });
      },
    });
    try {
      expect(early?.status).toBe(503);
      expect(early?.headers['retry-after']).toBe('1');
      expect(early?.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(early?.body ?? '{}')).toMatchObject({
        status: 503,
        detail: expect.stringContaining('starting'),
      });
      expect((await get(`${app.url}/ip`, { accept: 'application/json' })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('CORS of a server that checks loopback callers', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', ipv6Host: '::1', port: 0, allowNonPublic: false });
  });
  afterAll(async () => {
    await app?.close();
  });

  const preflight = (origin: string): Promise<SimpleResponse> =>
    getOnce(`${app.url}/check/22`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-private-network': 'true',
      },
    });

  it('lets no other site read its answers or pass a Private Network Access preflight', async () => {
    const read = await get(`${app.url}/ip`, { accept: 'application/json', origin: 'https://evil.example' });
    expect(read.status).toBe(200);
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
    const asked = await preflight('https://evil.example');
    expect(asked.headers['access-control-allow-origin']).toBeUndefined();
    expect(asked.headers['access-control-allow-private-network']).toBeUndefined();
  });

  it('answers its own origins, under either loopback name, and says yes to their private network preflight', async () => {
    for (const origin of [app.url, `http://localhost:${app.port}`, `http://[::1]:${app.port}`]) {
      const read = await get(`${app.url}/ip`, { accept: 'application/json', origin });
      expect(read.headers['access-control-allow-origin'], origin).toBe(origin);
      const asked = await preflight(origin);
      expect(asked.headers['access-control-allow-origin'], origin).toBe(origin);
      expect(asked.headers['access-control-allow-private-network'], origin).toBe('true');
    }
  });

  it('keeps * where the callers are the Internet (behind a trusted proxy) and where CORS_ALLOW_ORIGINS says so', async () => {
    const proxied = await startLocalApp({
      env: {},
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
      trustProxy: parseProxyTrust('127.0.0.1'),
    });
    const opened = await startLocalApp({
      env: { CORS_ALLOW_ORIGINS: '*' },
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
    });
    try {
      const viaProxy = await get(`${proxied.url}/ip`, {
        origin: 'https://site.example',
        'x-forwarded-for': '203.0.113.9',
      });
      expect(viaProxy.headers['access-control-allow-origin']).toBe('*');
      const told = await get(`${opened.url}/ip`, { origin: 'https://site.example' });
      expect(told.headers['access-control-allow-origin']).toBe('*');
    } finally {
      await Promise.all([proxied.close(), opened.close()]);
    }
  });
});
