/**
 * Bench section: memory and CPU of the deployed bundle, measured locally (there is no AWS
 * here). Synthesizes the stack, starts dynalite and the Secrets Manager stub, and runs the
 * bundle in a fresh Node process, as Lambda would, through every answer that needs no probe
 * of a public address: 400, 403, 404, a CORS preflight, and 429 (which reads the key and makes
 * the counter update, plus the read-back only dynalite needs: the heaviest path through the SDK). The stack's memory default is
 * chosen from these figures; see the README.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { apiEvent } from '../fixtures/events.ts';
import { HARNESS, startBundleHarness } from '../support/bundle-harness.ts';
import { spendDayBudget } from '../support/counters.ts';
import { synthesize } from '../support/synth.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Lambda bundle: size, memory and CPU (local measurement)';

const REGION = 'eu-central-1';
const SPENT_CALLER = '203.0.114.7';
const ROUNDS = 200;

/** Runs the measurement and returns its Markdown. */
export async function run(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dialback-bench-'));
  try {
    const synthesized = await synthesize({ outdir: join(dir, 'cdk.out'), context: { region: REGION } });
    const bundle = join(synthesized.bundleDir, 'index.mjs');
    const raw = (await stat(bundle)).size;
    const gzip = gzipSync(readFileSync(bundle), { level: 9 }).length;
    const child = join(dir, 'child.mjs');
    await build({
      entryPoints: [new URL('./lambda-memory-child.ts', import.meta.url).pathname],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: child,
      logLevel: 'silent',
    });
    const harness = await startBundleHarness(synthesized.template, REGION);
    try {
      const fn = Object.values(synthesized.template.findResources('AWS::Lambda::Function'))[0]?.Properties;
      const limit = Number(harness.functionEnv.RATE_LIMIT_PER_DAY);
      await spendDayBudget({
        endpoint: harness.table.endpoint,
        tableName: HARNESS.tableName,
        address: SPENT_CALLER,
        key: HARNESS.key,
        limit,
      });
      const kinds = [
        { name: 'bad port (400)', event: apiEvent({ url: '/check/0', sourceIp: SPENT_CALLER }) },
        { name: 'private caller (403)', event: apiEvent({ url: '/check/22', sourceIp: '10.0.0.1' }) },
        { name: 'unknown path (404)', event: apiEvent({ url: '/nope' }) },
        {
          name: 'CORS preflight (204)',
          event: apiEvent({
            url: '/check/443',
            method: 'OPTIONS',
            headers: { origin: 'https://example.com', 'access-control-request-method': 'GET' },
          }),
        },
        {
          name: 'budget spent (429: key read + UpdateItem + dynalite read-back)',
          event: apiEvent({ url: '/check?ports=22,80,443', sourceIp: SPENT_CALLER }),
        },
      ];
      const { stderr } = await promisify(execFile)(
        process.execPath,
        [child, bundle, JSON.stringify(kinds), String(ROUNDS)],
        {
          env: { ...process.env, ...harness.processEnv },
          maxBuffer: 1 << 20,
        },
      );
      const line =
        stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .at(-1) ?? '{}';
      const r = JSON.parse(line) as {
        baselineRssMb: number;
        afterImportRssMb: number;
        initCpuMs: number;
        afterFirstRoundRssMb: number;
        peakRssMb: number;
        finalHeapUsedMb: number;
        statuses: Record<string, number>;
        firstCpuMs: Record<string, number>;
        medianCpuMs: Record<string, number>;
      };
      const rows = Object.keys(r.statuses).map(
        (k) => `| ${k} | ${r.statuses[k]} | ${r.firstCpuMs[k]} | ${r.medianCpuMs[k]} |`,
      );
      return [
        `Bundle \`index.mjs\`: ${(raw / 1024).toFixed(1)} KiB raw, ${(gzip / 1024).toFixed(1)} KiB gzip -9 (source map shipped beside it). Function memory setting in the template: ${fn?.MemorySize} MB.`,
        '',
        `Node ${process.version} on ${process.arch} (Lambda runs Node 24 on arm64: treat these as estimates). ${ROUNDS} rounds of each request in one process:`,
        '',
        '| RSS | MB |',
        '|---|---|',
        `| bare Node process | ${r.baselineRssMb} |`,
        `| after importing the bundle (cold start) | ${r.afterImportRssMb} |`,
        `| after the first round (key read, SDK clients warm) | ${r.afterFirstRoundRssMb} |`,
        `| peak over all rounds | ${r.peakRssMb} |`,
        `| heap used at the end | ${r.finalHeapUsedMb} |`,
        '',
        `CPU to import the bundle: ${r.initCpuMs} ms.`,
        '',
        '| request | status | CPU first call (ms) | CPU median after (ms) |',
        '|---|---|---|---|',
        ...rows,
      ].join('\n');
    } finally {
      await harness.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
