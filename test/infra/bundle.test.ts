/**
 * The synthesized asset, not the source: synthesize the stack (esbuild bundling included),
 * import the bundle from the cloud assembly with the environment the template gives the
 * function, and invoke it with payload-v2 events against a real dynalite. Only the Secrets
 * Manager endpoint is a stub (there is none here); the SDK client in the bundle is real.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handler } from '../../functions/api/handler.ts';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { callerHash } from '../../functions/core/rate-limiter.ts';
import { parseSourceAddress } from '../../functions/core/source-address.ts';
import { COUNTER_ATTRIBUTES } from '../../functions/core/table-schema.ts';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { type SecretsManagerStub, startSecretsManagerStub } from '../support/secrets-manager-stub.ts';
import { synthesize } from '../support/synth.ts';

const REGION = 'eu-central-1';
const TABLE = 'bundle-test-counters';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:123456789012:secret:dialback-key-AbCdEf`;
const KEY = 'a-test-key-that-is-long-enough-0123456789';
/** Publicly routable, so it passes the deployed-mode guard; never dialed (see the guard below). */
const PUBLIC_CALLER = '203.0.114.7';
const RATE_PER_DAY = 40;

let outdir: string;
let table: EmbeddedTable;
let secrets: SecretsManagerStub;
let handler: Handler;
let functionEnv: Record<string, string>;
const savedEnv = { ...process.env };
const originalConnect = net.Socket.prototype.connect;

/**
 * No test here may dial anything but loopback (DESIGN rules: no traffic to other addresses).
 * Every test that reaches the limiter is arranged to stop before the probe; this guard turns a
 * mistake in that arrangement into a failed test instead of a packet to a public address.
 */
function guardOutboundConnections(): void {
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]) {
    const options = args[0];
    const host = typeof options === 'object' && options !== null && 'host' in options ? String(options.host) : '';
    if (host !== '' && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      throw new Error(`test guard: refused a connection to ${host}`);
    }
    // biome-ignore lint/suspicious/noExplicitAny: forwarding the overloaded signature untouched
    return (originalConnect as (...a: any[]) => net.Socket).apply(this, args);
  } as typeof originalConnect;
}

/** The template's value for a variable: literals as they are, references replaced by local stand-ins. */
function localValue(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (name === 'TABLE_NAME') return TABLE;
  if (name === 'RATE_LIMIT_KEY_SECRET_ARN') return SECRET_ARN;
  throw new Error(`environment variable ${name} is a reference the test does not know how to stand in for`);
}

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'dialback-cdk-'));
  const synthesized = await synthesize({
    outdir,
    context: { region: REGION, ratePerDay: String(RATE_PER_DAY) },
  });
  const [fn] = Object.values(synthesized.template.findResources('AWS::Lambda::Function'));
  const variables = (fn?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
  functionEnv = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, localValue(k, v)]));

  table = await startEmbeddedTable(TABLE);
  secrets = await startSecretsManagerStub(SECRET_ARN, KEY);
  guardOutboundConnections();
  // What Lambda sets, what the template sets, and where the two local servers are. The bundle
  // reads its config at module scope, so all of it must be in place before the import.
  Object.assign(process.env, functionEnv, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    DYNAMODB_ENDPOINT: table.endpoint,
  });
  const bundle = (await import(pathToFileURL(join(synthesized.bundleDir, 'index.mjs')).href)) as { handler: Handler };
  handler = bundle.handler;
});

afterAll(async () => {
  net.Socket.prototype.connect = originalConnect;
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
  await table?.close();
  await secrets?.close();
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

function problem(body: string): { status: number; type: string; detail: string } {
  return JSON.parse(body) as { status: number; type: string; detail: string };
}

describe('the synthesized function bundle', () => {
  it('gets a deployed-mode environment from the template, with no way to allow non-public targets', () => {
    expect(functionEnv).toMatchObject({ RATE_LIMIT_PER_DAY: String(RATE_PER_DAY), MAX_PORTS: '10' });
    expect(Object.keys(functionEnv)).not.toContain('ALLOW_NON_PUBLIC_TARGETS');
    expect(Object.keys(functionEnv)).not.toContain('RATE_LIMIT_KEY');
  });

  it('answers 400 to a port that is not a number from 1 to 65535', async () => {
    const response = await handler(apiEvent({ url: '/check/70000', sourceIp: PUBLIC_CALLER }), lambdaContext());
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
    // Spend the caller's day budget directly in the table, for this day and the next (in case
    // the test straddles midnight UTC), so the check is refused before any probe.
    const client = createDynamoDbClient({ region: REGION, dynamodbEndpoint: table.endpoint });
    const hash = callerHash(parseSourceAddress(PUBLIC_CALLER), KEY);
    const today = Math.floor(Date.now() / 86_400_000) * 86_400;
    try {
      for (const start of [today, today + 86_400]) {
        await client.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: {
              [COUNTER_ATTRIBUTES.key]: { S: `${hash}#day#${start}` },
              [COUNTER_ATTRIBUTES.window]: { N: String(start) },
              [COUNTER_ATTRIBUTES.count]: { N: String(RATE_PER_DAY) },
              [COUNTER_ATTRIBUTES.expiresAt]: { N: String(start + 86_400 + 60) },
            },
          }),
        );
      }
    } finally {
      client.destroy();
    }

    const first = await handler(apiEvent({ url: '/check/443', sourceIp: PUBLIC_CALLER }), lambdaContext());
    const second = await handler(apiEvent({ url: '/check?ports=80,443', sourceIp: PUBLIC_CALLER }), lambdaContext());

    for (const response of [first, second]) {
      expect(response.statusCode).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(response.headers['ratelimit-policy']).toContain(`${RATE_PER_DAY}`);
    }
    expect(secrets.requests).toEqual([SECRET_ARN]);
  });

  it('answers 503 when the counters table is down, and never probes without a budget', async () => {
    await table.close();
    const response = await handler(apiEvent({ url: '/check/443', sourceIp: '203.0.114.8' }), lambdaContext());
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(problem(response.body).detail).toMatch(/rate limiter is unavailable/);
  });
});
