/**
 * `npm run smoke`: passes against the local server, as a deployer runs it, and fails (exit 1,
 * with the failing checks named) against a server that breaks the contract.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { type LocalChild, startLocalChild } from '../support/local-child.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the smoke script as `npm run smoke` does; resolves with its exit code and output. */
function smoke(args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'infra/smoke/main.ts', ...args],
      { cwd: ROOT, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

describe('smoke test against the local server (npm start)', () => {
  let child: LocalChild;
  beforeAll(async () => {
    child = await startLocalChild(['--port', '0']);
  });
  afterAll(async () => {
    await child?.stop();
  });

  it('passes every check, with the dial proof received', async () => {
    const { code, out } = await smoke(['--api', child.url]);
    expect(out).toMatch(/^9 passed, 0 failed$/m);
    // npm start serves the pair; the smoke test reaches the dual-stack one too.
    expect(out).toMatch(
      /^PASS {2}the other endpoint answers \(GET http:\/\/localhost:\d+\/ip\): (127\.0\.0\.1 \(IPv4\)|::1 \(IPv6\))$/m,
    );
    expect(out).not.toContain('FAIL');
    expect(out).toContain('open, proof line received');
    expect(out).toContain('address seen (GET /ip): 127.0.0.1 (IPv4)');
    expect(code).toBe(0);
  });
});

describe('smoke test against a server that breaks the contract', () => {
  let app: LocalApp;
  let proxy: http.Server;
  let proxyUrl: string;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined });
    // Forwards to the real server but drops the RateLimit header and refuses HEAD on /ip.
    proxy = http.createServer((req, res) => {
      if (req.method === 'HEAD' && req.url === '/ip') {
        res.writeHead(405, { allow: 'GET', 'cache-control': 'no-store' }).end();
        return;
      }
      const upstream = http.request(
        `${app.url}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          const { ratelimit: _dropped, ...headers } = answer.headers;
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await app?.close();
  });

  it('exits 1 and names what failed', async () => {
    const { code, out } = await smoke(['--api', proxyUrl]);
    expect(out).toMatch(/^FAIL {2}a port this machine opens.*no ratelimit header on a charged check/m);
    expect(out).toMatch(/^FAIL {2}HEAD on every GET route.*HEAD \/ip → 405: status 405 is not documented/m);
    expect(out).toMatch(/^PASS {2}bad input is refused/m);
    expect(out).toMatch(/^7 passed, 2 failed$/m);
    expect(code).toBe(1);
  });

  it('exits 1 when nothing answers, and 2 without --api', async () => {
    const unreachable = await smoke(['--api', 'http://127.0.0.1:9']);
    expect(unreachable.out).toMatch(/^FAIL {2}OpenAPI document.*no answer/m);
    expect(unreachable.code).toBe(1);
    const usage = await smoke([]);
    expect(usage.out).toContain('give the API URL with --api');
    expect(usage.code).toBe(2);
  });
});
