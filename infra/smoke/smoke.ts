/**
 * The deployer's smoke test: right after a deploy, checks the live contract from the deployer's
 * own machine, through the API's public URL, spending two ports of the caller's budget. Every
 * response is checked against the OpenAPI document the deployment itself serves.
 */
import { checkAgainstSpec, type Json, type ObservedResponse } from './openapi-check.ts';
import { Expectation, expect, type Session, Unproven } from './session.ts';
import { getOverFamily, isOwnAddress, ownAddresses } from './vantage.ts';
import { endpointSteps, type Seen, verdictSteps } from './verdicts.ts';

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

/** Options of `runSmoke`. */
export interface SmokeOptions {
  /** The API's base URL, e.g. the stack's `ApiUrl` output. */
  readonly api: string;
  /** Per-request deadline (default 30 s: API Gateway's own limit). */
  readonly timeoutMs?: number;
  /** How long to wait for the proof line once the check says open (default 3 s). */
  readonly proofWaitMs?: number;
}

/**
 * The session the steps run in: `request` checks every answer against the deployment's own
 * document once `spec.doc` holds it, and `step` records each step's outcome in `results`.
 */
function smokeSession(base: string, timeoutMs: number, spec: { doc?: Json }, results: SmokeResult[]): Session {
  const request: Session['request'] = async ({ method, path, headers = {}, at = base, family }) => {
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
    if (spec.doc !== undefined) {
      const mismatches = checkAgainstSpec(spec.doc, method, path, observed);
      expect(mismatches.length === 0, `not as documented: ${mismatches.join('; ')}`);
    }
    return observed;
  };

  const step: Session['step'] = async (name, run) => {
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
  return { request, step };
}

/** Runs every check and returns one result each, in order; never throws. */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult[]> {
  const base = options.api.replace(/\/+$/, '');
  const results: SmokeResult[] = [];
  const spec: { doc?: Json } = {};
  const session = smokeSession(base, options.timeoutMs ?? 30_000, spec, results);
  const { request, step } = session;

  await step('OpenAPI document (GET /openapi.json)', async () => {
    const response = await request({ method: 'GET', path: '/openapi.json' });
    expect(response.status === 200, `answered ${response.status}`);
    const parsed = JSON.parse(response.body) as Json;
    expect(parsed.openapi === '3.1.0' && typeof parsed.paths === 'object', 'not an OpenAPI 3.1 document');
    spec.doc = parsed;
    const again = await request({ method: 'GET', path: '/openapi.json' });
    expect(again.status === 200, `answered ${again.status} the second time`);
    return `${Object.keys(parsed.paths as Json).length} paths; every response below is checked against it`;
  });
  if (spec.doc === undefined) {
    results.push({
      name: 'everything else',
      outcome: 'fail',
      detail: 'not run: there is no document to check answers against',
    });
    return results;
  }

  let seen: Seen | undefined;
  await step('address seen (GET /ip)', async () => {
    const response = await request({ method: 'GET', path: '/ip' });
    expect(response.status === 200, `answered ${response.status}`);
    const ip = JSON.parse(response.body) as Omit<Seen, 'direct'>;
    seen = { ...ip, direct: isOwnAddress(ip.ip, ownAddresses()) };
    const announced = Object.entries(ip.endpoints)
      .filter(([, url]) => url !== null)
      .map(([name, url]) => `${name} ${String(url)}`);
    const where = seen.direct ? "one of this machine's own addresses" : 'not an address of this machine';
    return `${ip.ip} (IPv${ip.family}), ${where}; endpoints: ${announced.join(', ') || 'none announced'}`;
  });
  if (seen !== undefined) {
    await endpointSteps(session, base, seen);
    await verdictSteps(session, seen, options.proofWaitMs ?? 3000);
  }
  await contractSteps(session, base, seen);
  return results;
}

/** The answers that need no port: bad input, unknown paths and methods, HEAD, CORS. */
async function contractSteps({ request, step }: Session, base: string, seen: Seen | undefined): Promise<void> {
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
  const endpoints = seen?.endpoints ?? {};
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
