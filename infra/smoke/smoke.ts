/**
 * The deployer's smoke test: right after a deploy, checks the live contract from the deployer's
 * own machine, through the API's public URL, spending one port of the caller's budget. Every
 * response is checked against the OpenAPI document the deployment itself serves.
 */
import { listenForProof } from '../../functions/cli/listen.ts';
import { newToken, proofLine } from '../../functions/contract/dial-proof.ts';
import { checkAgainstSpec, type Json, type ObservedResponse } from './openapi-check.ts';

/** One line of the report. */
export interface SmokeResult {
  readonly name: string;
  readonly ok: boolean;
  /** What was seen, or what went wrong. */
  readonly detail: string;
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

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Expectation(message);
}

interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Another endpoint of the same deployment; the `--api` one when absent. */
  readonly at?: string;
}

/** Runs every check and returns one result each, in order; never throws. */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult[]> {
  const base = options.api.replace(/\/+$/, '');
  const results: SmokeResult[] = [];
  let doc: Json | undefined;

  const request = async ({ method, path, headers = {}, at = base }: Call): Promise<ObservedResponse> => {
    const response = await fetch(`${at}${path}`, {
      method,
      headers: { accept: 'application/json', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const observed: ObservedResponse = {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: await response.text(),
    };
    // Every answer must be one the deployment's own document describes.
    if (doc !== undefined) {
      const mismatches = checkAgainstSpec(doc, method, path, observed);
      expect(mismatches.length === 0, `not as documented: ${mismatches.join('; ')}`);
    }
    return observed;
  };

  const step = async (name: string, run: () => Promise<string>): Promise<void> => {
    try {
      results.push({ name, ok: true, detail: await run() });
    } catch (error) {
      const reason = error instanceof Expectation ? error.message : `no answer (${describe(error)})`;
      results.push({ name, ok: false, detail: reason });
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
      ok: false,
      detail: 'not run: there is no document to check answers against',
    });
    return results;
  }

  let family: number | undefined;
  let others: string[] = [];
  await step('address seen (GET /ip)', async () => {
    const response = await request({ method: 'GET', path: '/ip' });
    expect(response.status === 200, `answered ${response.status}`);
    const ip = JSON.parse(response.body) as { ip: string; family: number; endpoints: Record<string, unknown> };
    family = ip.family;
    others = Object.values(ip.endpoints).filter((url): url is string => typeof url === 'string' && url !== base);
    const endpoints = Object.entries(ip.endpoints)
      .filter(([, url]) => url !== null)
      .map(([name, url]) => `${name} ${String(url)}`);
    return `${ip.ip} (IPv${ip.family}); endpoints: ${endpoints.join(', ') || 'none announced'}`;
  });

  // vpc mode: the sibling endpoint must answer too, and says which family reaches it from here.
  for (const other of others) {
    await step(`the other endpoint answers (GET ${other}/ip)`, async () => {
      const response = await request({ method: 'GET', path: '/ip', at: other });
      expect(response.status === 200, `answered ${response.status}`);
      const ip = JSON.parse(response.body) as { ip: string; family: number };
      return `${ip.ip} (IPv${ip.family})`;
    });
  }

  await step('a port this machine opens, checked with dial proof (GET /check/{port}?token=)', async () => {
    const token = newToken();
    const listener = await listenForProof(0, proofLine(token));
    try {
      const path = `/check/${listener.port}?token=${token}`;
      const response = await request({ method: 'GET', path });
      expect(response.status === 200, `answered ${response.status}: ${response.body.slice(0, 200)}`);
      for (const name of ['ratelimit', 'ratelimit-policy']) {
        expect(response.headers[name] !== undefined, `no ${name} header on a charged check`);
      }
      const body = JSON.parse(response.body) as { family: number; results: { state: string; reason: string }[] };
      expect(family === undefined || body.family === family, `checked IPv${body.family}, /ip saw IPv${family}`);
      const result = body.results[0];
      expect(result !== undefined, 'no result');
      if (result.state !== 'open') {
        // Behind NAT or a firewall the port is not reachable from the service: the contract
        // held (a documented answer); the proof cannot be tested from here.
        return `${listener.port}/tcp ${result.state} (${result.reason}): not reachable from the service, so the proof was not tested; RateLimit headers present`;
      }
      expect(await listener.whenVerified(options.proofWaitMs ?? 3000), 'open, but the proof line never arrived');
      return `${listener.port}/tcp open, proof line received; RateLimit headers present`;
    } finally {
      await listener.close();
    }
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

  await step('CORS preflight (OPTIONS /check/22)', async () => {
    const response = await request({
      method: 'OPTIONS',
      path: '/check/22',
      headers: { origin: 'https://smoke.example', 'access-control-request-method': 'GET' },
    });
    expect(response.status === 204, `answered ${response.status}`);
    const methods = response.headers['access-control-allow-methods'] ?? '';
    expect(methods.includes('GET'), `Access-Control-Allow-Methods is "${methods}"`);
    const origin = response.headers['access-control-allow-origin'];
    expect(origin !== undefined, 'no Access-Control-Allow-Origin (CORS_ALLOW_ORIGINS may not list this origin)');
    return `allows ${methods} from ${origin}`;
  });

  return results;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return [cause?.code, (error as Error).message].filter((part) => typeof part === 'string').join(': ');
}

/** The report: one PASS/FAIL line per check and a count. */
export function renderSmoke(api: string, results: readonly SmokeResult[]): string {
  const failed = results.filter((r) => !r.ok).length;
  const lines = results.map((r) => `${r.ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.detail}`);
  return `Dialback smoke test of ${api}\n${lines.join('\n')}\n${results.length - failed} passed, ${failed} failed\n`;
}
