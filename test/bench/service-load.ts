/**
 * Benchmark section: loopback load on the local server (`infra/local/main.ts` as its own
 * process, embedded dynalite inside it) with autocannon, on `/ip` and on `/check/{open port}`,
 * beside a bare Node `http` server answering the same shape of body. Both servers and the load
 * generator share this machine's cores, so the ratio is the meaningful figure, not the rate.
 */
import autocannon from 'autocannon';
import { type LocalChild, startLocalChild, startServerChild } from '../support/local-child.ts';
import { listening } from '../support/ports.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Loopback load on the local server';

const CONNECTIONS = 10;
const SECONDS = 8;
const WARMUP_SECONDS = 2;
const BARE = 'test/bench/bare-server.ts';
/** Large enough that no run here meets the rate limit; the table is still written on every check. */
const UNLIMITED = { RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PER_DAY: '10000000' };

interface Row {
  readonly target: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly requests: number;
}

async function load(target: string, url: string): Promise<Row> {
  await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_SECONDS });
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
  return {
    target,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    requests: result.requests.total,
  };
}

async function withServer<T>(start: () => Promise<LocalChild>, use: (url: string) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await use(server.url);
  } finally {
    await server.stop();
  }
}

/** Runs the section and returns its Markdown. */
export async function run(): Promise<string> {
  const open = await listening();
  try {
    const bare = await withServer(
      () => startServerChild(BARE, []),
      (url) => load('bare Node `http` server, `/`', `${url}/`),
    );
    const [ip, check] = await withServer(
      () => startLocalChild(['--port', '0'], UNLIMITED),
      async (url): Promise<[Row, Row]> => [
        await load('Dialback local server, `GET /ip`', `${url}/ip`),
        await load('Dialback local server, `GET /check/{open port}`', `${url}/check/${open.port}`),
      ],
    );
    const rows = [bare, ip, check];
    const lines = [
      `autocannon, ${CONNECTIONS} connections, ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up, on 127.0.0.1; each server in its own process, the load generator in the bench process.`,
      `Rate limits set to ${UNLIMITED.RATE_LIMIT_PER_MINUTE}/min and ${UNLIMITED.RATE_LIMIT_PER_DAY}/day so no request is refused; every check still makes its DynamoDB update against the embedded dynalite and a real TCP connect to a listening loopback port.`,
      '',
      '| target | requests/s | p50 ms | p99 ms | errors | requests | vs bare |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.target} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} | ${r.requests} | ${(r.rps / bare.rps).toFixed(3)} |`,
      ),
      '',
      'The `/check` rate is set by its DynamoDB update (AWS SDK client and dynalite, both in the server process), not by the probe: see the handler overhead rows below. In AWS the table is a managed service and each Lambda container serves one request at a time, so this row says little about deployed throughput; the `/ip` row is the HTTP adapter and handler alone.',
      '',
      'Reproduce: `npm run bench -- loopback`',
    ];
    return lines.join('\n');
  } finally {
    await open.close();
  }
}
