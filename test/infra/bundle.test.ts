/**
 * The synthesized asset, not the source: synthesize the stack (esbuild bundling included),
 * import the bundle from the cloud assembly with the environment the template gives the
 * function, and invoke it with payload-v2 events against a real dynalite. Only the Secrets
 * Manager endpoint is a stub (there is none here); the SDK client in the bundle is real.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handler } from '../../functions/api/handler.ts';
import { openApiDocument } from '../../functions/api/openapi/document.ts';
import { buildWebAssets } from '../../functions/build/served-code.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { HOLDERS_FILE } from '../../functions/core/network-holder.ts';
import { SERVED_API_PLACEHOLDER } from '../../functions/web/assets.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { type BundleHarness, bundleEnvironment, HARNESS, startBundleHarness } from '../support/bundle-harness.ts';
import { guardOutboundConnections } from '../support/connect-guard.ts';
import { spendDayBudget } from '../support/counters.ts';
import { buildStack, synthesize } from '../support/synth.ts';

const REGION = 'eu-central-1';
/**
 * The only addresses in the tests that are neither documentation nor benchmarking ones, on
 * purpose: the deployed bundle refuses every such range with 403 before its limiter (DESIGN
 * §4.2, and no setting can change that), so the cases that must get past that check need
 * addresses it reads as global unicast. None is ever dialed: the connect guard every test file
 * runs behind refuses each connection before a packet leaves, and the cases below assert it.
 */
const PUBLIC_CALLER = '203.0.114.7';
const PUBLIC_CALLER_V6 = '2a00:1450:4001:81b::200e';
/** For a case decided before the address is looked at. */
const DOCUMENTATION_CALLER = '203.0.113.7';
const RATE_PER_DAY = 40;

let outdir: string;
let bundleFile: string;
let harness: BundleHarness;
let handler: Handler;
/** The same bundle, imported a second time with the environment `-c egress=vpc` gives it. */
let vpcHandler: Handler;
let unguard: (() => void) | undefined;
/** Hosts the bundle tried to dial (the guard refused them all). */
const dialed: string[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'dialback-cdk-'));
  const synthesized = await synthesize({ outdir, context: { region: REGION, ratePerDay: String(RATE_PER_DAY) } });
  harness = await startBundleHarness(synthesized.template, REGION);
  unguard = guardOutboundConnections(dialed);
  // The bundle reads its config at module scope: the environment must be in place before the import.
  Object.assign(process.env, harness.processEnv);
  bundleFile = join(synthesized.bundleDir, 'index.mjs');
  const bundleUrl = pathToFileURL(bundleFile).href;
  const bundle = (await import(bundleUrl)) as { handler: Handler };
  handler = bundle.handler;
  // The code does not depend on the egress mode, only the environment does: take the vpc
  // template's (no second bundling) and load the bundle again as a separate module instance.
  const vpc = buildStack({ outdir: join(outdir, 'vpc'), context: { region: REGION, egress: 'vpc' }, bundle: false });
  Object.assign(process.env, bundleEnvironment(Template.fromStack(vpc.stack)));
  vpcHandler = ((await import(`${bundleUrl}?egress=vpc`)) as { handler: Handler }).handler;
  delete process.env.EGRESS_ADDRESSES;
  Object.assign(process.env, harness.processEnv);
});

afterAll(async () => {
  unguard?.();
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  await harness?.close();
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

function problem(body: string): { status: number; type: string; detail: string } {
  return JSON.parse(body) as { status: number; type: string; detail: string };
}

describe('the synthesized function bundle', () => {
  it('gets a deployed-mode environment from the template, with no way to allow non-public targets', () => {
    expect(harness.functionEnv).toMatchObject({ RATE_LIMIT_PER_DAY: String(RATE_PER_DAY), MAX_PORTS: '10' });
    // Non-public targets are only the local server's --allow-non-public flag; no variable may name them.
    expect(Object.keys(harness.functionEnv).filter((k) => /PUBLIC|TARGET|POLICY/.test(k))).toEqual([]);
    expect(Object.keys(harness.functionEnv)).not.toContain('RATE_LIMIT_KEY');
  });

  it('stays under 260 KB with the environment as its only credential provider', async () => {
    const code = await readFile(bundleFile, 'utf8');
    expect(code.length).toBeLessThanOrEqual(260 * 1024);
    // Markers of the default chain's other links: SSO, ini profiles, credential_process, web
    // identity, container metadata. Lambda gives credentials in the environment. (Instance
    // metadata's address stays: @smithy/core's "auto" defaults mode can ask it for the region.)
    const markers = [
      'sso_start_url',
      'credential_process',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ];
    expect(markers.filter((marker) => code.includes(marker))).toEqual([]);
    expect(code.includes('AWS_SECRET_ACCESS_KEY')).toBe(true);
    // The SDK's event-stream codecs and endpoint discovery's cache are aliased out: never called.
    expect(code.includes('Reported message length does not match received message length')).toBe(false);
    expect(code.includes('mnemonist/lru-cache')).toBe(false);
    console.info(`Lambda bundle: ${code.length} characters`);
  });

  it('ships only what runs: the source map goes to cdk.out/source-maps, not into the asset', async () => {
    const assetFiles = await readdir(dirname(bundleFile));
    expect(assetFiles.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(assetFiles).toContain('index.mjs');
    const maps = await readdir(join(outdir, 'source-maps'));
    expect(maps).toHaveLength(1);
    const map = JSON.parse(await readFile(join(outdir, 'source-maps', maps[0] ?? ''), 'utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('functions/api/index.ts'))).toBe(true);
  });

  it('leaves function names to the source map, which maps the minified ones back', async () => {
    const code = await readFile(bundleFile, 'utf8');
    const names = ['createRateLimiter', 'probePorts', 'createHandler'];
    // Not kept as strings in the code (keepNames would add 18 KB to every cold start)…
    expect(names.filter((name) => code.includes(`"${name}"`))).toEqual([]);
    // …but named in the map beside cdk.out, so a stack trace reads back.
    const [mapFile = ''] = await readdir(join(outdir, 'source-maps'));
    const map = JSON.parse(await readFile(join(outdir, 'source-maps', mapFile), 'utf8')) as { names: string[] };
    expect(names.filter((name) => !map.names.includes(name))).toEqual([]);
  });

  it('serves the page, the widget compiled at synth time from files beside the bundle, and the OpenAPI document', async () => {
    const assets = await buildWebAssets();
    const widget = await handler(apiEvent({ url: '/widget.js' }), lambdaContext());
    expect(widget.statusCode).toBe(200);
    expect(widget.body).toBe(assets.widget);
    const page = await handler(apiEvent({ url: '/', headers: { accept: 'text/html' } }), lambdaContext());
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(assets.pageScript);
    // Served from files beside the bundle, not from the module a cold start imports.
    const code = await readFile(bundleFile, 'utf8');
    expect(code.includes(assets.widget.slice(0, 200))).toBe(false);
    expect(code.includes(assets.pageScript.slice(0, 200))).toBe(false);
    // The standalone CLI is a file beside the bundle too, pointed at the API's own URL.
    const cli = await handler(apiEvent({ url: '/dialback.mjs' }), lambdaContext());
    expect(cli.statusCode).toBe(200);
    expect(cli.body).toBe((await assets.cli())?.replaceAll(SERVED_API_PLACEHOLDER, 'https://api.example.com'));
    const openapi = await handler(apiEvent({ url: '/openapi.json' }), lambdaContext());
    expect(openapi.statusCode).toBe(200);
    // Built at synth time with stand-in limits; the deployment's own went in when served.
    expect(JSON.parse(openapi.body)).toEqual(openApiDocument(loadConfig(harness.functionEnv)));
    expect(JSON.parse(openapi.body).info.description).toContain(`${RATE_PER_DAY} per day`);
    expect(code.includes('x-head-of-get')).toBe(false);
  });

  it('answers /ip with who holds the address from the dataset beside the bundle, not inside it', async () => {
    expect(await readdir(dirname(bundleFile))).toContain(HOLDERS_FILE);
    const before = dialed.length;
    const ip = await handler(apiEvent({ url: '/ip', sourceIp: '2.58.100.7' }), lambdaContext());
    expect(JSON.parse(ip.body)).toMatchObject({ asn: 3320, org: 'Deutsche Telekom AG', country: 'DE' });
    const v6 = await handler(apiEvent({ url: '/ip', sourceIp: '2001:678:36c::9' }), lambdaContext());
    expect(JSON.parse(v6.body)).toMatchObject({ asn: 3320, country: 'DE', dataDate: expect.stringMatching(/^\d{4}-/) });
    expect((await readFile(bundleFile, 'utf8')).includes('Deutsche Telekom')).toBe(false);
    // The only connections tried were the reverse-DNS lookups (refused by the guard before a
    // packet left): never the callers. Taken off the list the dialing case below checks.
    const tried = dialed.splice(before);
    expect(tried.filter((host) => host === '2.58.100.7' || host.startsWith('2001:678'))).toEqual([]);
  });

  it('answers 400 to a port that is not a number from 1 to 65535', async () => {
    const response = await handler(apiEvent({ url: '/check/70000', sourceIp: DOCUMENTATION_CALLER }), lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(problem(response.body).status).toBe(400);
  });

  it('answers 403 to a loopback caller and to a private one', async () => {
    for (const sourceIp of ['127.0.0.1', '10.1.2.3', '::ffff:192.168.1.1']) {
      const response = await handler(apiEvent({ url: '/check/22', sourceIp }), lambdaContext());
      expect(response.statusCode, sourceIp).toBe(403);
      expect(problem(response.body).type).toMatch(/address-not-public$/);
    }
  });

  it('answers 404 for an unknown path and 405 for a method other than GET', async () => {
    const missing = await handler(apiEvent({ url: '/admin' }), lambdaContext());
    expect(missing.statusCode).toBe(404);
    const post = await handler(apiEvent({ url: '/check/22', method: 'POST' }), lambdaContext());
    expect(post.statusCode).toBe(405);
  });

  it('answers a CORS preflight itself, as the local server does', async () => {
    const response = await handler(
      apiEvent({
        url: '/check/443',
        method: 'OPTIONS',
        headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' },
      }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
  });

  it('answers 429 with Retry-After once the day budget is spent, reading its key from Secrets Manager once', async () => {
    await spendDayBudget({
      endpoint: harness.table.endpoint,
      tableName: HARNESS.tableName,
      address: PUBLIC_CALLER,
      key: HARNESS.key,
      limit: RATE_PER_DAY,
    });

    const first = await handler(apiEvent({ url: '/check/443', sourceIp: PUBLIC_CALLER }), lambdaContext());
    const second = await handler(apiEvent({ url: '/check?ports=80,443', sourceIp: PUBLIC_CALLER }), lambdaContext());

    for (const response of [first, second]) {
      expect(response.statusCode).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(response.headers['ratelimit-policy']).toContain(`${RATE_PER_DAY}`);
    }
    expect(harness.secrets.requests).toEqual([HARNESS.secretArn]);
  });

  it('dials the caller and nothing else once a check has its budget, whatever the headers say', async () => {
    // The guard refuses the connection (the probe reports it as a local failure, 503), and
    // notes where it was going: that is what this case is about.
    const response = await handler(
      apiEvent({
        url: '/check/443',
        sourceIp: '203.0.114.9',
        headers: { 'x-forwarded-for': '198.51.100.1', forwarded: 'for=198.51.100.2', 'x-real-ip': '198.51.100.3' },
      }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(503);
    expect(new Set(dialed)).toEqual(new Set(['203.0.114.9']));
  });

  it('answers an IPv6 caller "untestable" without dialing in the default egress mode (no IPv6 egress)', async () => {
    const response = await handler(apiEvent({ url: '/check/443', sourceIp: PUBLIC_CALLER_V6 }), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).results).toEqual([
      { port: 443, state: 'untestable', reason: 'no-ipv6-egress', rttMs: null },
    ]);
    expect(dialed).not.toContain(PUBLIC_CALLER_V6);
  });

  it('with egress=vpc, dials an IPv6 caller back over IPv6 (and still only the caller)', async () => {
    const caller = '2a00:1450:4001:81b::200f';
    const response = await vpcHandler(
      apiEvent({ url: '/check/443', sourceIp: caller, headers: { 'x-forwarded-for': '2001:db8::1' } }),
      lambdaContext(),
    );
    // Refused by the guard, as in the IPv4 case above: the point is that it tried, and where.
    expect(response.statusCode).toBe(503);
    expect(dialed).toContain(caller);
    expect(dialed).not.toContain('2001:db8::1');
  });

  it('answers 503 when the counters table is down, and never probes without a budget', async () => {
    await harness.table.close();
    const response = await handler(apiEvent({ url: '/check/443', sourceIp: '203.0.114.8' }), lambdaContext());
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(problem(response.body).detail).toMatch(/rate limiter is unavailable/);
    expect(dialed).not.toContain('203.0.114.8');
  });
});
