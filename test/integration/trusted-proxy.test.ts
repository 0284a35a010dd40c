/**
 * The local server behind a reverse proxy on the same machine (`--trust-proxy`), through the
 * real adapter and handler: the caller `/ip` reports and a check would dial is the client the
 * proxy names, a client's own forwarding header changes nothing, and without the flag a
 * proxied request is refused instead of checking the proxy's machine. Only `/ip` and checks
 * the policy refuses are sent: nothing is dialed.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { parseProxyTrust } from '../../infra/local/forwarded.ts';
import { getOnce } from '../support/http-client.ts';
import { type LocalChild, startLocalChild } from '../support/local-child.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function seen(url: string, headers: Record<string, string>): Promise<{ status: number; body: Json }> {
  const response = await getOnce(url, { headers: { accept: 'application/json', ...headers } });
  return { status: response.status, body: JSON.parse(response.body) as Json };
}
type Json = Record<string, unknown>;

describe('local server behind a trusted proxy on loopback', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startLocalApp({
      env: {},
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
      trustProxy: parseProxyTrust('127.0.0.1'),
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('checks only public callers, though it listens on loopback', () => {
    expect(app.policy).toBe('public-only');
  });

  it("reports the proxy's client as the caller, not the client's own claim", async () => {
    const plain = await seen(`${app.url}/ip`, { 'x-forwarded-for': '203.0.113.9' });
    expect(plain).toMatchObject({ status: 200, body: { ip: '203.0.113.9', family: 4 } });
    const spoofed = await seen(`${app.url}/ip`, { 'x-forwarded-for': '198.51.100.66, 2001:db8::9' });
    expect(spoofed).toMatchObject({ status: 200, body: { ip: '2001:db8::9', family: 6 } });
    // The header the proxy does not manage is the client's to write: ignored.
    const other = await seen(`${app.url}/ip`, { forwarded: 'for=198.51.100.66', 'x-forwarded-for': '203.0.113.9' });
    expect(other.body.ip).toBe('203.0.113.9');
  });

  it("refuses to check a private client the proxy names, as it would that client's own request", async () => {
    const answer = await seen(`${app.url}/check/22`, { 'x-forwarded-for': '192.168.1.20' });
    expect(answer.status).toBe(403);
    expect(answer.body.type).toMatch(/address-not-public$/);
  });

  it('answers 400 problem+json when the proxy names no client, and the proxy itself is never the caller', async () => {
    const missing = await getOnce(`${app.url}/ip`, { headers: { accept: 'application/json' } });
    expect(missing.status).toBe(400);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(missing.body).detail).toContain('without a x-forwarded-for header');
    const hidden = await seen(`${app.url}/check/22`, { 'x-forwarded-for': '203.0.113.9, unknown' });
    expect(hidden.status).toBe(400);
    expect(hidden.body.detail).toContain('"unknown"');
  });
});

describe('local server on loopback without --trust-proxy', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', port: 0, allowNonPublic: false });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses a forwarded request with 403 naming the flag, and serves a direct one as before', async () => {
    const proxied = await seen(`${app.url}/check/22`, { 'x-forwarded-for': '203.0.113.9' });
    expect(proxied.status).toBe(403);
    expect(proxied.body.type).toMatch(/untrusted-proxy$/);
    expect(proxied.body.detail).toContain('--trust-proxy 127.0.0.1');
    const direct = await seen(`${app.url}/ip`, {});
    expect(direct).toMatchObject({ status: 200, body: { ip: '127.0.0.1' } });
  });
});

describe('npm start with --trust-proxy', () => {
  let child: LocalChild | undefined;
  afterAll(async () => {
    await child?.stop();
  });

  it('says whom it trusts at start-up and reads the header it was told to', async () => {
    child = await startLocalChild(['--port', '0', '--trust-proxy', '127.0.0.1', '--proxy-header', 'forwarded']);
    expect(child.output()).toContain(
      'the caller is the client forwarded names when the connection comes from 127.0.0.1',
    );
    const answer = await seen(`${child.url}/ip`, {
      forwarded: 'for="[2001:db8::7]:4711"',
      'x-forwarded-for': '203.0.113.9',
    });
    expect(answer.body.ip).toBe('2001:db8::7');
  });

  it.each([
    [['--trust-proxy', 'proxy.example'], /--trust-proxy takes addresses or ranges.*"proxy.example"/],
    [['--trust-proxy', '127.0.0.1', '--proxy-header', 'x-real-ip'], /--proxy-header is x-forwarded-for or forwarded/],
    [['--proxy-header', 'forwarded'], /give --trust-proxy too/],
  ])('refuses %j with exit 2 and one line saying why', async (args, message) => {
    const failed = await run(process.execPath, ['--import', 'tsx', 'infra/local/main.ts', '--port', '0', ...args], {
      cwd: ROOT,
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(message);
  });
});
