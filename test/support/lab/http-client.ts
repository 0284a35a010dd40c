/**
 * Child script for the lab's client namespace: GETs each path from Dialback (JSON), at most
 * `concurrency` at a time, and prints one JSON array of `{ path, status, ms, body }`.
 * Usage: node --import tsx test/support/lab/http-client.ts '{"base":"http://198.18.1.1:8787","paths":["/check/22"],"concurrency":8}'
 */

/** What the parent passes as the only argument. */
export interface HttpClientJob {
  readonly base: string;
  readonly paths: readonly string[];
  readonly concurrency: number;
}

/** One answered request; `ms` is the whole round trip as the caller sees it. */
export interface HttpClientResult {
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly body: unknown;
}

/** No request may hang the lab: far above any probe deadline the lab configures. */
const REQUEST_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as HttpClientJob;
  const results: HttpClientResult[] = new Array(job.paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < job.paths.length) {
      const i = next++;
      const path = job.paths[i] ?? '/';
      const started = performance.now();
      const response = await fetch(`${job.base}${path}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body: unknown = await response.json();
      results[i] = { path, status: response.status, ms: performance.now() - started, body };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, worker));
  process.stdout.write(JSON.stringify(results));
}

await main();
