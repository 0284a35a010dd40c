/**
 * Benchmark section: reverse-DNS lookups per caller. `/ip` answered by the real handler with
 * the real lookup pointed at a DNS server on loopback that counts the questions it gets; once
 * with the per-caller bounds (`DEFAULT_LOOKUP_BOUNDS`), once without them (no reuse, no
 * allowance: how every request behaved before). Also the heap of a full answer cache.
 */

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createHandler } from '../../functions/api/handler.ts';
import { createReverseDns, DEFAULT_LOOKUP_BOUNDS, type LookupBounds } from '../../functions/core/reverse-dns.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { startFakeDns } from '../support/fake-dns.ts';
import { testDeps } from '../support/handler-deps.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Reverse DNS per caller';

const REQUESTS = 1000;
const UNBOUNDED: LookupBounds = {
  cacheMs: 0,
  lookupsPerWindow: Number.POSITIVE_INFINITY,
  windowMs: 60_000,
  maxEntries: 1,
};

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SCENARIOS: ReadonlyArray<readonly [string, (i: number) => string]> = [
  ['one IPv4 caller repeating `/ip`', () => '9.9.9.9'],
  ['one IPv6 /64 rotating its addresses', (i) => `2001:4860:1:2::${(i + 1).toString(16)}`],
  ['distinct IPv4 callers, one request each', (i) => `11.0.${i >> 8}.${i & 255}`],
];

/** Runs the section; Markdown. */
export async function run(): Promise<string> {
  const dns = await startFakeDns('answer');
  try {
    const rows: string[] = [];
    for (const [name, source] of SCENARIOS) {
      const cells: string[] = [];
      for (const bounds of [UNBOUNDED, DEFAULT_LOOKUP_BOUNDS]) {
        const handler = createHandler(
          testDeps({}, { reverseDns: createReverseDns({ timeoutMs: 800, servers: [dns.server], bounds }) }),
        );
        const before = dns.queries();
        const started = performance.now();
        for (let i = 0; i < REQUESTS; i++)
          await handler(apiEvent({ url: '/ip', sourceIp: source(i) }), lambdaContext());
        const micros = ((performance.now() - started) * 1000) / REQUESTS;
        cells.push(`${dns.queries() - before}`, micros.toFixed(0));
      }
      rows.push(`| ${name} | ${cells.join(' | ')} |`);
    }

    // The cache at its bound: maxEntries distinct callers, each answered once.
    const full = createReverseDns({ timeoutMs: 800, servers: [dns.server] });
    for (let i = 0; i < 3; i++) gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < DEFAULT_LOOKUP_BOUNDS.maxEntries; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => full(`11.1.${(i + j) >> 8}.${(i + j) & 255}`)));
    }
    for (let i = 0; i < 3; i++) gc();
    const cacheMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    return [
      `${REQUESTS} sequential \`GET /ip\` requests into the handler per row; the PTR lookups go to a DNS server on loopback that answers at once. Bounds: answers reused ${DEFAULT_LOOKUP_BOUNDS.cacheMs / 60_000} min, ${DEFAULT_LOOKUP_BOUNDS.lookupsPerWindow} fresh lookups per caller (IPv4 address or IPv6 /64) per minute, at most ${DEFAULT_LOOKUP_BOUNDS.maxEntries.toLocaleString('en')} answers and callers kept. Reproduce: \`npm run bench -- "reverse dns"\`.`,
      '',
      '| callers | DNS questions, unbounded | µs per request, unbounded | DNS questions, bounded | µs per request, bounded |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      `Heap held by a full cache (${DEFAULT_LOOKUP_BOUNDS.maxEntries.toLocaleString('en')} answers and callers): ${cacheMb.toFixed(1)} MB. The bounds are per process, so per Lambda container: a caller spread over C warm containers can cause up to C × ${DEFAULT_LOOKUP_BOUNDS.lookupsPerWindow} lookups a minute.`,
    ].join('\n');
  } finally {
    await dns.close();
  }
}
