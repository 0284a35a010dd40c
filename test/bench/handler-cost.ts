/**
 * Benchmark section: what the Lambda function itself costs. The handler's own overhead per
 * request with a probe that dials nothing (once with an in-memory limiter, once with the real
 * limiter on dynalite); and the cold init (module import, which includes `createHandler`) of
 * the deployed bundle that `cdk synth` builds, in fresh processes, beside a minimal handler
 * bundled with the stack's options.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import type { Probe } from '../../functions/core/probe.ts';
import { startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { startBundleHarness } from '../support/bundle-harness.ts';
import { tableLimiter, testDeps } from '../support/handler-deps.ts';
import { synthesize } from '../support/synth.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Handler overhead and cold init of the deployed bundle';

const REGION = 'eu-central-1';
const COLD_RUNS = 15;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
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
    Key: { pk: { S: 'bench-raw#1767225600' } },
    UpdateExpression: 'ADD #count :cost, #slot :cost SET #expiresAt = :expiresAt',
    ConditionExpression:
      '(attribute_not_exists(#slot) OR #slot <= :shortCeiling) AND (attribute_not_exists(#count) OR #count <= :longCeiling)',
    ExpressionAttributeNames: { '#count': 'hits', '#slot': 'm720', '#expiresAt': 'expiresAt' },
    ExpressionAttributeValues: {
      ':cost': { N: '1' },
      ':shortCeiling': { N: '100000000' },
      ':longCeiling': { N: '100000000' },
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
  const real = tableLimiter(deps.config, table.endpoint, Date.now);
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
        '`GET /check/443`, real limiter on dynalite (1 UpdateItem)',
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

/** The stack's own esbuild options (infra/aws/api-function.ts) minus its aliases, for the baseline handlers. */
const STACK_LIKE = {
  mainFields: ['module', 'main'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  logLevel: 'error',
} satisfies BuildOptions;

/** The floor for anyone using this SDK: a handler that only creates a default `DynamoDBClient`. */
const MINIMAL_DYNAMODB = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({});
export const handler = async () => ({ statusCode: 200, body: String(typeof client.send) });
`;
const EMPTY_HANDLER = "export const handler = async () => ({ statusCode: 200, body: '{}' });\n";

function sizes(bytes: Buffer): { bytes: number; gzipBytes: number } {
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes).length };
}

/**
 * Imports `file` in a fresh Node process with `env` and, given `event`, answers it once, as a
 * cold Lambda's first request; returns import time, first-answer time and spawn-to-answer time, ms.
 */
async function coldStart(
  file: string,
  env: Readonly<Record<string, string>>,
  event?: unknown,
): Promise<{
  importMs: number;
  importCpuMs: number;
  firstMs: number;
  status: number;
  spawnToAnswerMs: number;
  processMs: number;
}> {
  const script = `const c0 = process.cpuUsage(); const t0 = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)});
if (typeof m.handler !== 'function') throw new Error('no handler export');
const t1 = performance.now(); const cpu = process.cpuUsage(c0);
const event = ${JSON.stringify(event ?? null)};
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 8000 };
const answer = event === null ? { statusCode: 0 } : await m.handler(event, context);
process.stdout.write('cold-start ' + JSON.stringify({ importMs: t1 - t0, importCpuMs: (cpu.user + cpu.system) / 1000, firstMs: performance.now() - t1, status: answer.statusCode }) + '\\n');`;
  const started = performance.now();
  let answeredAt = 0;
  const child = execFile(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (answeredAt === 0 && out.includes('cold-start ')) answeredAt = performance.now();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`cold start of ${file} exited with ${code}`);
  // The handler writes its own log line to stdout too; the result is the marked line.
  const line = out.split('\n').find((l) => l.startsWith('cold-start ')) ?? '';
  const parsed = JSON.parse(line.slice('cold-start '.length)) as {
    importMs: number;
    importCpuMs: number;
    firstMs: number;
    status: number;
  };
  return { ...parsed, spawnToAnswerMs: answeredAt - started, processMs: performance.now() - started };
}

async function bundleAndInit(): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dialback-bench-'));
  try {
    // The deployed bundle itself, as `cdk synth` makes it, run with the function's own environment.
    const synthesized = await synthesize({ outdir: path.join(dir, 'cdk.out'), context: { region: REGION } });
    const realFile = path.join(synthesized.bundleDir, 'index.mjs');
    const harness = await startBundleHarness(synthesized.template, REGION);
    const env = harness.processEnv;
    const baseline = async (name: string, contents: string): Promise<string> => {
      const outfile = path.join(dir, `${name}.mjs`);
      await build({ ...STACK_LIKE, stdin: { contents, resolveDir: ROOT, loader: 'js' }, outfile });
      return outfile;
    };
    const files = {
      real: realFile,
      dynamodb: await baseline('minimal-dynamodb', MINIMAL_DYNAMODB),
      empty: await baseline('empty', EMPTY_HANDLER),
    };
    // Another build's index.mjs (say, main before a change), timed in the same alternation.
    const other = process.env.DIALBACK_BENCH_OTHER_BUNDLE;
    type Cold = Awaited<ReturnType<typeof coldStart>>;
    const times: Record<keyof typeof files | 'other', Cold[]> = { real: [], dynamodb: [], empty: [], other: [] };
    // Port 25 is untestable from Lambda (the entry blocks it), so this check dials nothing, yet it
    // goes the whole way: key read from the Secrets Manager stub, then the counter write to dynalite.
    const firstCheck = apiEvent({ url: '/check/25', sourceIp: '203.0.114.70' });
    const firsts: Cold[] = [];
    try {
      for (let i = 0; i < COLD_RUNS; i++) {
        times.real.push(await coldStart(files.real, env));
        times.dynamodb.push(await coldStart(files.dynamodb, env));
        times.empty.push(await coldStart(files.empty, env));
        if (other !== undefined) times.other.push(await coldStart(other, env));
        firsts.push(
          await coldStart(files.real, env, {
            ...firstCheck,
            requestContext: { ...firstCheck.requestContext, requestId: `cold-${i}` },
          }),
        );
      }
    } finally {
      await harness.close();
    }
    if (firsts.some((f) => f.status !== 200)) throw new Error(`first check answered ${firsts.map((f) => f.status)}`);
    const floor = median(times.dynamodb.map((t) => t.importMs));
    const cpuFloor = median(times.dynamodb.map((t) => t.importCpuMs));
    const kb = (n: number): string => (n / 1024).toFixed(1);
    const row = async (name: string, file: string, runs: Cold[]): Promise<string> => {
      const size = sizes(await readFile(file));
      const importMs = median(runs.map((t) => t.importMs));
      const cpuMs = median(runs.map((t) => t.importCpuMs));
      return `| ${name} | ${kb(size.bytes)} | ${kb(size.gzipBytes)} | ${importMs.toFixed(1)} | ${Math.min(...runs.map((t) => t.importMs)).toFixed(1)} | ${(importMs / floor).toFixed(2)}× | ${cpuMs.toFixed(1)} | ${(cpuMs / cpuFloor).toFixed(2)}× | ${median(runs.map((t) => t.processMs)).toFixed(0)} |`;
    };
    return [
      "The deployed bundle as `cdk synth` builds it (infra/aws/api-function.ts: esbuild, ESM, `node24`, minified without kept names, AWS SDK inlined, served browser code, CLI and OpenAPI document beside it as files, the environment as the only credential provider, event-stream codecs and endpoint discovery aliased out, no source map loaded), beside a handler that only creates a default `DynamoDBClient` (the floor for anyone using this SDK) and an empty one, both bundled with the stack's options without its aliases. Cold init = `import()` of the bundle in a fresh `node` process with the function's environment from the template (module scope runs `loadConfig` and `createHandler`), median of " +
        `${COLD_RUNS} alternating runs; CPU = the process's user + system time during the import, which a loaded machine disturbs less than wall time; whole process = spawn to exit, also the median. Node ${process.version} (Lambda runs Node 24); 1-minute load average ${(os.loadavg()[0] ?? 0).toFixed(1)} on ${os.cpus().length} cores.`,
      '',
      '| bundle | size KB | gzip KB | cold init ms (median) | min | vs `DynamoDBClient` handler | init CPU ms (median) | CPU vs `DynamoDBClient` handler | whole process ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      await row('deployed `index.mjs`', files.real, times.real),
      await row('minimal `DynamoDBClient` handler', files.dynamodb, times.dynamodb),
      await row('empty handler', files.empty, times.empty),
      ...(other === undefined ? [] : [await row(`\`${other}\``, other, times.other)]),
      '',
      `The first request after a cold start: a fresh process imports the deployed bundle and answers one \`GET /check/25\` from a public address (untestable from Lambda, so nothing is dialed) with the key read from a local Secrets Manager stub and the first counter write to a local dynalite, one throwaway warm-up write riding beside the key read. Median of ${COLD_RUNS}; loopback servers, so a region's round trips come on top.`,
      '',
      '| import ms | first answer after import ms | spawn to answer ms |',
      '|---:|---:|---:|',
      `| ${median(firsts.map((f) => f.importMs)).toFixed(1)} | ${median(firsts.map((f) => f.firstMs)).toFixed(1)} | ${median(firsts.map((f) => f.spawnToAnswerMs)).toFixed(0)} |`,
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the section and returns its Markdown. */
export async function run(): Promise<string> {
  const cost = await overhead();
  const init = await bundleAndInit();
  const reproduce =
    'Reproduce: `npm run bench -- handler`; `DIALBACK_BENCH_OTHER_BUNDLE=path/to/index.mjs` adds another build of the bundle to the same alternation.';
  return [...cost, '', ...init, '', reproduce].join('\n');
}
