/**
 * Benchmark section: what the Lambda function itself costs. The handler's own overhead per
 * request with a probe that dials nothing (once with an in-memory limiter, once with the real
 * limiter on dynalite); the size of the bundle esbuild makes of `functions/api/index.ts` with
 * Lambda-like options; and its cold init (module import, which includes `createHandler`) in
 * fresh processes, beside a minimal handler bundled the same way.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import type { Probe } from '../../functions/core/probe.ts';
import { startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { tableLimiter, testDeps } from '../support/handler-deps.ts';

const execFileAsync = promisify(execFile);

/** Section title in BENCHMARKS.md. */
export const title = 'Handler overhead, bundle size and cold init';

const ENTRY = fileURLToPath(new URL('../../functions/api/index.ts', import.meta.url));
const COLD_RUNS = 9;
/** Env the real bundle needs at import; the secret is only read on the first check. */
const LAMBDA_ENV = {
  AWS_REGION: 'eu-central-1',
  RATE_LIMIT_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:dialback-key-AbCdEf',
  TABLE_NAME: 'dialback-rate-limits',
};

/** A probe that dials nothing and answers at once, so only the handler's own work is timed. */
const noProbe: Probe = async (_target, ports) =>
  ports.map((port) => ({ port, state: 'open', reason: 'syn-ack', rttMs: 0.1 }));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

type Timing = { mean: number; p50: number; p99: number };

/** Times `n` sequential calls after `n / 10` warm-up ones; microseconds. */
async function timeCalls(call: () => Promise<void>, n: number): Promise<Timing> {
  for (let i = 0; i < n / 10; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await call();
    times.push((performance.now() - started) * 1000);
  }
  const sorted = times.sort((a, b) => a - b);
  return { mean: times.reduce((a, b) => a + b, 0) / n, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

function perRequest(handler: Handler, url: string, n: number): Promise<Timing> {
  return timeCalls(async () => {
    const response = await handler(apiEvent({ url, sourceIp: '198.51.100.20' }), lambdaContext());
    if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}: ${response.body}`);
  }, n);
}

/** One counter update as a bare HTTP POST to dynalite, without the SDK: the table's own share. */
function rawUpdate(endpoint: string, tableName: string, n: number): Promise<Timing> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  // The same update the limiter sends (rate-limiter.ts), so only the client differs.
  const body = JSON.stringify({
    TableName: tableName,
    Key: { pk: { S: 'bench-raw' } },
    UpdateExpression: 'ADD #count :cost SET #window = :start, #expiresAt = :expiresAt',
    ConditionExpression: 'attribute_not_exists(#count) OR #count <= :ceiling',
    ExpressionAttributeNames: { '#count': 'hits', '#window': 'windowStart', '#expiresAt': 'expiresAt' },
    ExpressionAttributeValues: {
      ':cost': { N: '1' },
      ':ceiling': { N: '100000000' },
      ':start': { N: '1767225600' },
      ':expiresAt': { N: '1767312060' },
    },
    ReturnValues: 'UPDATED_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  const headers = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'DynamoDB_20120810.UpdateItem',
    // dynalite checks that a signature is present, not that it is valid.
    authorization:
      'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    'x-amz-date': '20260101T000000Z',
  };
  const post = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request(endpoint, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`dynalite ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  return timeCalls(post, n).finally(() => agent.destroy());
}

async function overhead(): Promise<string[]> {
  const env = { RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PER_DAY: '10000000' };
  const memory = createHandler(testDeps(env, { probe: noProbe, policy: 'any' }));
  const table = await startEmbeddedTable('bench-overhead');
  const deps = testDeps({ ...env, TABLE_NAME: 'bench-overhead' }, { probe: noProbe, policy: 'any' });
  const real = tableLimiter(deps.config, table.endpoint, deps.now);
  try {
    const onTable = createHandler({ ...deps, limiter: real.limiter });
    const rows: Array<[string, Timing, number]> = [
      ['`GET /ip` (reverse DNS stubbed)', await perRequest(memory, '/ip', 20_000), 20_000],
      ['`GET /check/443`, in-memory limiter', await perRequest(memory, '/check/443', 20_000), 20_000],
      [
        '`GET /check?ports=` 10 ports, in-memory limiter',
        await perRequest(memory, '/check?ports=1,2,3,4,5,6,7,8,9,10', 20_000),
        20_000,
      ],
      [
        '`GET /check/443`, real limiter on dynalite (2 UpdateItems)',
        await perRequest(onTable, '/check/443', 1000),
        1000,
      ],
      [
        "for scale: the limiter's UpdateItem as bare HTTP to the same dynalite, no SDK",
        await rawUpdate(table.endpoint, 'bench-overhead', 1000),
        1000,
      ],
    ];
    return [
      'Sequential requests straight into the handler (no HTTP server), with a probe that dials nothing; reverse DNS stubbed to `null`. The dynalite row includes the AWS SDK client and the loopback round trips to the in-process dynalite.',
      '',
      '| request | µs mean | µs p50 | µs p99 | requests |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(
        ([name, t, n]) => `| ${name} | ${t.mean.toFixed(0)} | ${t.p50.toFixed(0)} | ${t.p99.toFixed(0)} | ${n} |`,
      ),
    ];
  } finally {
    real.destroy();
    await table.close();
  }
}

const BANNER = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

async function bundle(entry: string, outfile: string): Promise<{ bytes: number; gzipBytes: number }> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    banner: { js: BANNER },
    logLevel: 'error',
  });
  const bytes = (await stat(outfile)).size;
  return { bytes, gzipBytes: gzipSync(await readFile(outfile)).length };
}

/** Imports `file` in a fresh Node process; returns import time and whole-process time, ms. */
async function coldStart(file: string): Promise<{ importMs: number; processMs: number }> {
  const script = `const t0 = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') throw new Error('no handler export');
process.stdout.write(String(performance.now() - t0));`;
  const started = performance.now();
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV },
  });
  return { importMs: Number(stdout), processMs: performance.now() - started };
}

async function bundleAndInit(): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dialback-bench-'));
  try {
    const minimalEntry = path.join(dir, 'minimal.mjs');
    await writeFile(
      minimalEntry,
      "export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' });\n",
    );
    const real = await bundle(ENTRY, path.join(dir, 'dialback.mjs'));
    const minimal = await bundle(minimalEntry, path.join(dir, 'minimal.bundle.mjs'));
    type Cold = Awaited<ReturnType<typeof coldStart>>;
    const times: { real: Cold[]; minimal: Cold[] } = { real: [], minimal: [] };
    for (let i = 0; i < COLD_RUNS; i++) {
      times.real.push(await coldStart(path.join(dir, 'dialback.mjs')));
      times.minimal.push(await coldStart(path.join(dir, 'minimal.bundle.mjs')));
    }
    const realImport = median(times.real.map((t) => t.importMs));
    const minimalImport = median(times.minimal.map((t) => t.importMs));
    const kb = (n: number): string => (n / 1024).toFixed(1);
    return [
      'esbuild (bundle, minify, `platform: node`, `format: esm`, `target: node22`, a `createRequire` banner), the AWS SDK v3 clients bundled in. Cold init = `import()` of the bundle in a fresh `node` process (module scope runs `loadConfig` and `createHandler`), median of ' +
        `${COLD_RUNS} alternating runs; whole process = spawn to exit, also the median. Node ${process.version} here, while Lambda would run Node 22.`,
      '',
      '| bundle | size KB | gzip KB | cold init ms (median) | min | whole process ms | init vs minimal |',
      '|---|---:|---:|---:|---:|---:|---:|',
      `| \`functions/api/index.ts\` | ${kb(real.bytes)} | ${kb(real.gzipBytes)} | ${realImport.toFixed(1)} | ${Math.min(...times.real.map((t) => t.importMs)).toFixed(1)} | ${median(times.real.map((t) => t.processMs)).toFixed(0)} | ${(realImport / minimalImport).toFixed(1)}× |`,
      `| minimal handler | ${kb(minimal.bytes)} | ${kb(minimal.gzipBytes)} | ${minimalImport.toFixed(1)} | ${Math.min(...times.minimal.map((t) => t.importMs)).toFixed(1)} | ${median(times.minimal.map((t) => t.processMs)).toFixed(0)} | 1.0× |`,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the section and returns its Markdown. */
export async function run(): Promise<string> {
  const cost = await overhead();
  const init = await bundleAndInit();
  return [...cost, '', ...init, '', 'Reproduce: `npm run bench -- handler`'].join('\n');
}
