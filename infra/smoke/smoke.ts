/**
 * The deployer's smoke test: right after a deploy, checks the live contract from the deployer's
 * own machine, through the API's public URL, spending two ports of the caller's budget. Every
 * response is checked against the OpenAPI document the deployment itself serves.
 */
import { listenForProof } from '../../functions/cli/listen.ts';
import { newToken, proofLine } from '../../functions/core/dial-proof.ts';
import { checkAgainstSpec, type Json, type ObservedResponse } from './openapi-check.ts';
import { getOverFamily, isOwnAddress, NO_ROUTE_FROM_HERE, ownAddresses, refusedPort } from './vantage.ts';

/**
 * How a check ended. `unproven`: the contract held as far as it could be seen, but what the
 * check exists to prove cannot be seen from this machine (behind NAT, or without IPv6).
 */
export type SmokeOutcome = 'pass' | 'fail' | 'unproven';

/** One line of the report. */
export interface SmokeResult {
  readonly name: string;
  readonly outcome: SmokeOutcome;
  /** What was seen, or what went wrong. */
  readonly detail: string;
}

/**
 * The exit code of a run: 0 when every check passed, 1 when any failed, 3 when none failed but
 * some could not be proven from here (2 is the usage error). A pipeline must not read 3 as a pass.
 */
export function smokeExitCode(results: readonly SmokeResult[]): 0 | 1 | 3 {
  if (results.some((r) => r.outcome === 'fail')) return 1;
  return results.some((r) => r.outcome === 'unproven') ? 3 : 0;
}

/** Why a verdict is unproven behind NAT, and what to do about it. */
export function natAdvice(seen: string): string {
  return (
    `the API sees ${seen}, which is not an address of this machine (NAT, CGNAT or a proxy in between), ` +
    'so a port opened or refused here is not what the service reaches: the verdict path is unproven from here. ' +
    'To prove it, run `npm run smoke -- --api URL` from a host whose own interface holds a public address ' +
    '(a cloud VM with a public IPv4 address, or a host with global IPv6 against ApiUrlDualStack) ' +
    'and whose firewall lets inbound TCP in'
  );
}

/** Options of `runSmoke`. */
export interface SmokeOptions {
  /** The API's base URL, e.g. the stack's `ApiUrl` output. */
  readonly api: string;
  /** Per-request deadline (default 30 s: API Gateway's own limit). */
  readonly timeoutMs?: number;
  /** How long to wait for the proof line once the check says open (default 3 s). */
  readonly proofWaitMs?: number;
}

/** A failed expectation; its message is the report's detail. */
class Expectation extends Error {}

/** What a check exists to prove cannot be seen from here; its message says why and what to do. */
class Unproven extends Error {}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Expectation(message);
}

interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Another endpoint of the same deployment; the `--api` one when absent. */
  readonly at?: string;
  /** Connect over this family only (a dual-stack endpoint's IPv6); either when absent. */
  readonly family?: 4 | 6;
}

interface CheckBody {
  readonly ip: string;
  readonly family: number;
  readonly results: readonly { readonly state: string; readonly reason: string }[];
}

/** Runs every check and returns one result each, in order; never throws. */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult[]> {
  const base = options.api.replace(/\/+$/, '');
  const results: SmokeResult[] = [];
  let doc: Json | undefined;

  const timeoutMs = options.timeoutMs ?? 30_000;
  const request = async ({ method, path, headers = {}, at = base, family }: Call): Promise<ObservedResponse> => {
    const sent = { accept: 'application/json', ...headers };
    let observed: ObservedResponse;
    if (family === undefined) {
      const response = await fetch(`${at}${path}`, {
        method,
        headers: sent,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      observed = {
        status: response.status,
        headers: Object.fromEntries(response.headers.entries()),
        body: await response.text(),
      };
    } else {
      observed = await getOverFamily(`${at}${path}`, family, sent, timeoutMs);
    }
    // Every answer must be one the deployment's own document describes.
    if (doc !== undefined) {
      const mismatches = checkAgainstSpec(doc, method, path, observed);
      expect(mismatches.length === 0, `not as documented: ${mismatches.join('; ')}`);
    }
    return observed;
  };

  const step = async (name: string, run: () => Promise<string>): Promise<void> => {
    try {
      results.push({ name, outcome: 'pass', detail: await run() });
    } catch (error) {
      if (error instanceof Unproven) {
        results.push({ name, outcome: 'unproven', detail: error.message });
        return;
      }
      const reason = error instanceof Expectation ? error.message : `no answer (${describe(error)})`;
      results.push({ name, outcome: 'fail', detail: reason });
    }
  };

  await step('OpenAPI document (GET /openapi.json)', async () => {
    const response = await request({ method: 'GET', path: '/openapi.json' });
    expect(response.status === 200, `answered ${response.status}`);
    const parsed = JSON.parse(response.body) as Json;
    expect(parsed.openapi === '3.1.0' && typeof parsed.paths === 'object', 'not an OpenAPI 3.1 document');
    doc = parsed;
    const again = await request({ method: 'GET', path: '/openapi.json' });
    expect(again.status === 200, `answered ${again.status} the second time`);
    return `${Object.keys(parsed.paths as Json).length} paths; every response below is checked against it`;
  });
  if (doc === undefined) {
    results.push({
      name: 'everything else',
      outcome: 'fail',
      detail: 'not run: there is no document to check answers against',
    });
    return results;
  }

  let seen: { ip: string; family: number } | undefined;
  let direct = false;
  let endpoints: { ipv4?: unknown; dualStack?: unknown } = {};
  await step('address seen (GET /ip)', async () => {
    const response = await request({ method: 'GET', path: '/ip' });
    expect(response.status === 200, `answered ${response.status}`);
    const ip = JSON.parse(response.body) as { ip: string; family: number; endpoints: typeof endpoints };
    seen = ip;
    endpoints = ip.endpoints;
    direct = isOwnAddress(ip.ip, ownAddresses());
    const announced = Object.entries(ip.endpoints)
      .filter(([, url]) => url !== null)
      .map(([name, url]) => `${name} ${String(url)}`);
    const where = direct ? "one of this machine's own addresses" : 'not an address of this machine';
    return `${ip.ip} (IPv${ip.family}), ${where}; endpoints: ${announced.join(', ') || 'none announced'}`;
  });

  // The IPv4-only endpoint, when it is not the one under test, must answer, and over IPv4.
  if (typeof endpoints.ipv4 === 'string' && endpoints.ipv4 !== base) {
    const at = endpoints.ipv4;
    await step(`the IPv4-only endpoint answers over IPv4 (GET ${at}/ip)`, async () => {
      const ip = await askIp(request, { at });
      expect(ip.family === 4, `it saw IPv${ip.family}: an IPv4-only endpoint let an IPv6 caller in`);
      return `${ip.ip} (IPv4)`;
    });
  }
  // A dual-stack endpoint claims IPv6: reach it over IPv6 alone and have it say so.
  if (typeof endpoints.dualStack === 'string') {
    const at = endpoints.dualStack;
    await step(`the dual-stack endpoint answers over IPv6 (GET ${at}/ip)`, async () => {
      let ip: { ip: string; family: number };
      try {
        ip = await askIp(request, { at, family: 6 });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== undefined && NO_ROUTE_FROM_HERE.has(code)) {
          throw new Unproven(`this machine has no IPv6 path (${code}); run from a host with global IPv6 to prove it`);
        }
        if (code === 'ENOTFOUND') throw new Expectation(`${new URL(at).hostname} has no IPv6 address (no AAAA)`);
        throw error;
      }
      expect(ip.family === 6, `connected over IPv6 but it saw IPv${ip.family}`);
      return `${ip.ip} (IPv6)`;
    });
  }

  /** A charged check of one port, held to the contract every check must meet. */
  const check = async (path: string): Promise<{ state: string; reason: string }> => {
    const response = await request({ method: 'GET', path });
    expect(response.status === 200, `answered ${response.status}: ${response.body.slice(0, 200)}`);
    for (const name of ['ratelimit', 'ratelimit-policy']) {
      expect(response.headers[name] !== undefined, `no ${name} header on a charged check`);
    }
    const body = JSON.parse(response.body) as CheckBody;
    expect(seen === undefined || body.family === seen.family, `checked IPv${body.family}, /ip saw IPv${seen?.family}`);
    expect(seen === undefined || body.ip === seen.ip, `checked ${body.ip}, /ip saw ${seen?.ip}`);
    const result = body.results[0];
    expect(result !== undefined, 'no result');
    return result;
  };
  const unprovenBehindNat = (read: string): Unproven => new Unproven(`${read}; ${natAdvice(seen?.ip ?? 'an address')}`);

  await step('a port this machine opens reads open, with dial proof (GET /check/{port}?token=)', async () => {
    const token = newToken();
    const listener = await listenForProof(0, proofLine(token));
    try {
      const result = await check(`/check/${listener.port}?token=${token}`);
      const read = `${listener.port}/tcp ${result.state} (${result.reason})`;
      if (!direct) throw unprovenBehindNat(`read ${read}`);
      expect(
        result.state === 'open',
        `${read}: the service dialled this machine's own address, where the port is listening, so it must read open (unless this machine's firewall drops inbound TCP)`,
      );
      expect(await listener.whenVerified(options.proofWaitMs ?? 3000), 'open, but the proof line never arrived');
      return `${listener.port}/tcp open, proof line received; RateLimit headers present`;
    } finally {
      await listener.close();
    }
  });

  await step('a port this machine refuses reads closed (GET /check/{port})', async () => {
    if (!direct) throw unprovenBehindNat('not checked, so as to spend nothing');
    const port = await refusedPort();
    const result = await check(`/check/${port}`);
    expect(
      result.state === 'closed',
      `${port}/tcp ${result.state} (${result.reason}): nothing listens on it here, so it must read closed (unless this machine's firewall drops instead of refusing)`,
    );
    return `${port}/tcp closed (${result.reason})`;
  });

  await step('bad input is refused with 400 (/check/0, /check?ports=22,,80)', async () => {
    for (const path of ['/check/0', '/check?ports=22,,80']) {
      const response = await request({ method: 'GET', path });
      expect(response.status === 400, `${path} answered ${response.status}`);
    }
    return 'problem+json, as documented';
  });

  await step('unknown path 404, wrong method 405 with Allow', async () => {
    const missing = await request({ method: 'GET', path: '/no-such-path' });
    expect(missing.status === 404, `/no-such-path answered ${missing.status}`);
    const wrong = await request({ method: 'POST', path: '/ip' });
    expect(wrong.status === 405, `POST /ip answered ${wrong.status}`);
    return `Allow: ${wrong.headers.allow}`;
  });

  await step('HEAD on every GET route (/, /ip, /openapi.json, /widget.js)', async () => {
    for (const path of ['/', '/ip', '/openapi.json', '/widget.js']) {
      const response = await request({ method: 'HEAD', path, headers: { accept: '*/*' } });
      expect(response.status === 200, `HEAD ${path} answered ${response.status}`);
    }
    return '200, no body';
  });

  await step('HEAD /check/22 spends nothing', async () => {
    const response = await request({ method: 'HEAD', path: '/check/22' });
    expect(response.status === 200, `answered ${response.status}`);
    expect(response.headers.ratelimit === undefined, 'it carried a RateLimit header: it was charged');
    return '200, not charged';
  });

  // An origin the deployment allows whatever corsOrigins says: its own endpoints always pass.
  const announced = [endpoints.ipv4, endpoints.dualStack].find((url): url is string => typeof url === 'string');
  const origin = new URL(announced ?? base).origin;
  await step(`CORS preflight from ${origin} (OPTIONS /check/22)`, async () => {
    const response = await request({
      method: 'OPTIONS',
      path: '/check/22',
      headers: { origin, 'access-control-request-method': 'GET' },
    });
    expect(response.status === 204, `answered ${response.status}`);
    const methods = response.headers['access-control-allow-methods'] ?? '';
    expect(methods.includes('GET'), `Access-Control-Allow-Methods is "${methods}"`);
    const allowed = response.headers['access-control-allow-origin'];
    expect(
      allowed === '*' || allowed === origin,
      `Access-Control-Allow-Origin is ${allowed ?? 'missing'}: the deployment refuses its own origin`,
    );
    return `allows ${methods} from ${allowed}`;
  });

  return results;
}

/** `GET /ip` at another endpoint of the deployment. */
async function askIp(
  request: (call: Call) => Promise<ObservedResponse>,
  where: Pick<Call, 'at' | 'family'>,
): Promise<{ ip: string; family: number }> {
  const response = await request({ method: 'GET', path: '/ip', ...where });
  expect(response.status === 200, `answered ${response.status}`);
  return JSON.parse(response.body) as { ip: string; family: number };
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return [cause?.code, (error as Error).message].filter((part) => typeof part === 'string').join(': ');
}

const LABELS = Object.freeze({ pass: 'PASS', fail: 'FAIL', unproven: 'UNPROVEN' }) satisfies Record<
  SmokeOutcome,
  string
>;

/** The report: one PASS/FAIL/UNPROVEN line per check and a count of each. */
export function renderSmoke(api: string, results: readonly SmokeResult[]): string {
  const count = (outcome: SmokeOutcome): number => results.filter((r) => r.outcome === outcome).length;
  const lines = results.map((r) => `${LABELS[r.outcome]}  ${r.name}: ${r.detail}`);
  const unproven = count('unproven');
  const tally = `${count('pass')} passed, ${count('fail')} failed${unproven > 0 ? `, ${unproven} unproven` : ''}`;
  return `Dialback smoke test of ${api}\n${lines.join('\n')}\n${tally}\n`;
}
