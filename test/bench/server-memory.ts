/**
 * Benchmark section: the local server as a long-running service. (1) Its resident memory (RSS,
 * from /proc, the figure an operator's monitoring sees) over a run of many distinct callers,
 * each checking one port once: every caller is its own loopback address (127.x.y.z, all of
 * 127.0.0.0/8 is this machine's), so each gets its own counters and the dial-back stays on
 * loopback. (2) Rate-limit counters across a restart, with and without `--data-dir`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVE_NODE_FLAGS } from '../../infra/local/build-server.ts';
import { productionTree } from '../support/built-server.ts';
import { type LocalChild, startBuiltServerChild } from '../support/local-child.ts';
import { releasedPort } from '../support/ports.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Local server memory over many callers, and counters across a restart';

/** Distinct callers. */
const CALLERS = 20_000;
/** Checks per caller, one per round: the first round brings every caller in, the rest find them known. */
const ROUNDS = 3;
/** Requests in flight at once. */
const CONCURRENCY = 16;
/** An RSS sample every this many requests. */
const SAMPLE_EVERY = 2_500;
/** The run also lasts at least this long, so "after the first minute" has minutes to show. */
const MIN_RUN_MS = 240_000;
/** Bound on one request: a stuck request fails the bench, it does not hang it. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The i-th caller's own loopback address: 127.1.0.0 upwards, never 127.0.0.1 (the operator's). */
function callerAddress(i: number): string {
  return `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function get(url: string, localAddress?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, ...(localAddress ? { localAddress } : {}) }, (response) => {
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    request.once('error', reject);
  });
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

interface Sample {
  readonly requests: number;
  readonly seconds: number;
  readonly rss: number;
}

/** `ROUNDS` rounds of one check by each of `CALLERS` callers, `CONCURRENCY` at a time, with RSS samples. */
async function manyCallers(server: LocalChild, port: number): Promise<{ samples: Sample[]; failures: number }> {
  const started = performance.now();
  const samples: Sample[] = [{ requests: 0, seconds: 0, rss: await rssMb(server.pid) }];
  let next = 0;
  let done = 0;
  let failures = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < CALLERS * ROUNDS; i = next++) {
      const answer = await get(`${server.url}/check/${port}`, callerAddress(i % CALLERS)).catch(() => undefined);
      if (answer?.status !== 200) failures += 1;
      done += 1;
      if (done % SAMPLE_EVERY === 0) {
        const seconds = (performance.now() - started) / 1000;
        samples.push({ requests: done, seconds, rss: await rssMb(server.pid) });
      }
      // Spread over at least MIN_RUN_MS: a service's callers arrive over time, and the first
      // minute (start-up, JIT, the table's first writes) must be past to judge the rest.
      const due = (done / (CALLERS * ROUNDS)) * MIN_RUN_MS - (performance.now() - started);
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { samples, failures };
}

/** The minute budget left, from the `RateLimit` header. */
function minuteLeft(headers: http.IncomingHttpHeaders): number {
  return Number(/"minute";r=(\d+)/.exec(String(headers.ratelimit))?.[1]);
}

/** Spends 3 of 10 checks, restarts, and reads what is left, with and without `--data-dir`. */
async function restart(port: number, start: (args: string[]) => Promise<LocalChild>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'dialback-bench-restart-'));
  const rows: string[] = [];
  try {
    for (const [label, args] of [
      ['in memory (default)', []],
      ['`--data-dir DIR`', ['--data-dir', dir]],
    ] as const) {
      const base = ['--port', '0', '--ipv6-host', 'none', ...args];
      const first = await start(base);
      let before = Number.NaN;
      try {
        for (let i = 0; i < 3; i++) before = minuteLeft((await get(`${first.url}/check/${port}`)).headers);
      } finally {
        await first.stop();
      }
      const stoppedAt = performance.now();
      const second = await start(base);
      const restartMs = performance.now() - stoppedAt;
      try {
        const after = minuteLeft((await get(`${second.url}/check/${port}`)).headers);
        rows.push(`| ${label} | ${before} | ${after} | ${Math.round(restartMs)} |`);
      } finally {
        await second.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Runs the section and returns its Markdown. */
export async function run(): Promise<string> {
  const port = await releasedPort();
  // As a service runs it (npm run build:server, then npm run serve with production dependencies),
  // with the shipped limits: each caller checks once, so none meets them, and every check writes
  // its counters.
  const dir = await mkdtemp(join(tmpdir(), 'dialback-bench-serve-'));
  let result: { samples: Sample[]; failures: number };
  let restartRows: string[];
  try {
    const built = await productionTree(dir);
    const start = (args: string[], env: Record<string, string> = {}) =>
      startBuiltServerChild(built.file, args, dir, env, SERVE_NODE_FLAGS);
    const server = await start(
      ['--port', '0', '--ipv6-host', 'none'],
      process.env.EXP_NODE_OPTIONS ? { NODE_OPTIONS: process.env.EXP_NODE_OPTIONS } : {},
    );
    try {
      result = await manyCallers(server, port);
    } finally {
      await server.stop();
    }
    restartRows = await restart(port, (args) => start(args, { RATE_LIMIT_PER_MINUTE: '10' }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const { samples, failures } = result;
  // Judged once every caller has come in (the first round) and the first minute is past.
  const afterMinute = samples.filter((s) => s.seconds >= 60 && s.requests >= CALLERS);
  const reference = afterMinute[0]?.rss ?? Number.NaN;
  const peak = Math.max(...afterMinute.map((s) => s.rss));
  const growth = ((peak - reference) / reference) * 100;
  return [
    `${CALLERS.toLocaleString('en')} distinct callers (127.1.0.0 upwards), each checking a closed port once in each of ${ROUNDS} rounds (${(CALLERS * ROUNDS).toLocaleString('en')} checks), ${CONCURRENCY} at a time, spread over at least ${MIN_RUN_MS / 1000} s, against the built local server (\`npm run build:server\`, then \`npm run serve\`: its file and Node flags, production dependencies only; its own process, embedded table in memory); RSS from /proc. Reproduce: \`npm run bench -- "local server memory"\`.`,
    '',
    '| requests | seconds | RSS MB |',
    '|---:|---:|---:|',
    ...samples.map((s) => `| ${s.requests.toLocaleString('en')} | ${s.seconds.toFixed(0)} | ${s.rss.toFixed(1)} |`),
    '',
    `Failed requests: ${failures}. Once every caller had come in and the first minute was past, RSS went from ${reference.toFixed(1)} MB to at most ${peak.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %).`,
    '',
    'Counters across a restart: 3 of 10 checks a minute spent, the server stopped (SIGTERM) and started again on the same settings, then one more check; what the `RateLimit` header says is left.',
    '',
    '| counters | left before the restart | left after the restart (one more check) | restart ms |',
    '|---|---:|---:|---:|',
    ...restartRows,
  ].join('\n');
}
