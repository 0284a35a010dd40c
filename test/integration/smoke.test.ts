/**
 * `npm run smoke`: passes against a healthy local server, as a deployer runs it, even with a
 * named CORS list; fails (exit 1, with the failing checks named) against a server that breaks
 * the contract or lies about verdicts; and, when the API sees an address that is not this
 * machine's (NAT), exits 3 and says the verdicts are unproven from here.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { type LocalChild, startLocalChild } from '../support/local-child.ts';
import { type RewriteProxy, type Rewrites, startRewriteProxy } from '../support/rewrite-proxy.ts';

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

describe('smoke test against the local server (npm start) with a named CORS list', () => {
  let child: LocalChild;
  beforeAll(async () => {
    child = await startLocalChild(['--port', '0'], { CORS_ALLOW_ORIGINS: 'https://app.example' });
  });
  afterAll(async () => {
    await child?.stop();
  });

  it('passes every check: open with the dial proof, closed where refused, IPv6 on the dual-stack endpoint', async () => {
    const { code, out } = await smoke(['--api', child.url]);
    expect(out).not.toMatch(/FAIL|UNPROVEN/);
    expect(out).toMatch(/^10 passed, 0 failed$/m);
    expect(out).toContain("address seen (GET /ip): 127.0.0.1 (IPv4), one of this machine's own addresses");
    // npm start serves the pair; the dual-stack one is reached over IPv6 alone, and says so.
    expect(out).toMatch(
      /^PASS {2}the dual-stack endpoint answers over IPv6 \(GET http:\/\/localhost:\d+\/ip\): ::1 \(IPv6\)$/m,
    );
    expect(out).toMatch(/^PASS {2}a port this machine opens reads open.*open, proof line received/m);
    expect(out).toMatch(/^PASS {2}a port this machine refuses reads closed.*closed \(conn-refused\)$/m);
    expect(out).toMatch(
      /^PASS {2}CORS preflight from http:\/\/127\.0\.0\.1:\d+ .*allows GET.* from http:\/\/127\.0\.0\.1:\d+$/m,
    );
    expect(code).toBe(0);
  });
});

describe('smoke test against a server that breaks the contract or lies', () => {
  let app: LocalApp;
  let proxy: RewriteProxy | undefined;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined });
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(async () => {
    await app?.close();
  });

  const through = async (rewrites: Rewrites): Promise<{ code: number; out: string }> => {
    proxy = await startRewriteProxy(app.url, rewrites);
    return smoke(['--api', proxy.url]);
  };

  it('exits 1 and names what failed when a header is dropped and HEAD refused', async () => {
    const { code, out } = await through({
      answer: (req, res) => {
        if (req.method !== 'HEAD' || req.url !== '/ip') return false;
        res.writeHead(405, { allow: 'GET', 'cache-control': 'no-store' }).end();
        return true;
      },
      headers: ({ ratelimit: _dropped, ...headers }) => headers,
    });
    expect(out).toMatch(/^FAIL {2}a port this machine opens.*no ratelimit header on a charged check/m);
    expect(out).toMatch(/^FAIL {2}a port this machine refuses.*no ratelimit header on a charged check/m);
    expect(out).toMatch(/^FAIL {2}HEAD on every GET route.*HEAD \/ip → 405: status 405 is not documented/m);
    expect(out).toMatch(/^PASS {2}bad input is refused/m);
    expect(out).toMatch(/^7 passed, 3 failed$/m);
    expect(code).toBe(1);
  });

  it('exits 1 when every result is rewritten to filtered / no-response', async () => {
    const { code, out } = await through({
      json: (body, path) =>
        path.startsWith('/check') && Array.isArray(body.results)
          ? {
              ...body,
              results: body.results.map((r: Record<string, unknown>) => ({
                ...r,
                state: 'filtered',
                reason: 'no-response',
                rttMs: null,
              })),
            }
          : body,
    });
    expect(out).toMatch(/^FAIL {2}a port this machine opens.*filtered \(no-response\).*must read open/m);
    expect(out).toMatch(/^FAIL {2}a port this machine refuses.*filtered \(no-response\).*must read closed/m);
    expect(out).toMatch(/^8 passed, 2 failed$/m);
    expect(code).toBe(1);
  });

  it('exits 3, not 0, and says how to prove it when the API sees an address that is not this machine (NAT)', async () => {
    const NAT = '203.0.113.7';
    const { code, out } = await through({
      json: (body) => (typeof body.ip === 'string' ? { ...body, ip: NAT } : body),
    });
    expect(out).toContain(`address seen (GET /ip): ${NAT} (IPv4), not an address of this machine`);
    expect(out).toMatch(
      /^UNPROVEN {2}a port this machine opens.*read \d+\/tcp open \(syn-ack\); the API sees 203\.0\.113\.7/m,
    );
    expect(out).toMatch(/^UNPROVEN {2}a port this machine refuses.*not checked, so as to spend nothing/m);
    expect(out).toContain('the verdict path is unproven from here');
    expect(out).toContain('from a host whose own interface holds a public address');
    expect(out).not.toContain('FAIL');
    expect(out).toMatch(/^8 passed, 0 failed, 2 unproven$/m);
    expect(code).toBe(3);
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
