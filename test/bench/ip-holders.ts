/**
 * Bench section: what `/ip`'s holder lookup costs (issue 25). The dataset is a gzip file beside
 * the Lambda bundle, read on `/ip`'s first call: the first call after a cold start pays the read,
 * gunzip and decode, later ones one binary search. Each run is a fresh Node process (a cold
 * container), reading the file the synth put in the asset; the Lambda package size is the asset
 * directory's.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOLDERS_FILE } from '../../functions/core/network-holder.ts';
import { synthesize } from '../support/synth.ts';

/** Section title in BENCHMARKS.md. */
export const title = '/ip holder lookup: first use, warm, memory and package size';

const RUNS = 5;
const WARM = 10_000;
const MODULE = pathToFileURL(path.resolve('functions/core/network-holder.ts')).href;
const SOURCE = pathToFileURL(path.resolve('functions/core/source-address.ts')).href;

interface Run {
  firstMs: number;
  warmUs: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
}

/** One cold process: import the module, load + first lookup, then `WARM` lookups. */
async function once(file: string): Promise<Run> {
  const script = `const { bundledHolders } = await import(${JSON.stringify(MODULE)});
const { parseSourceAddress } = await import(${JSON.stringify(SOURCE)});
const addresses = ['2.58.100.7', '2001:678:36c::9', '3.5.140.2', '8.8.8.8'].map(parseSourceAddress);
globalThis.gc?.(); const m0 = process.memoryUsage();
const holders = bundledHolders(new URL(${JSON.stringify(pathToFileURL(file).href)}));
const t0 = performance.now(); const table = await holders(); table.lookup(addresses[0]); const firstMs = performance.now() - t0;
const t1 = performance.now(); for (let i = 0; i < ${WARM}; i++) (await holders()).lookup(addresses[i % 4]);
const warmUs = (performance.now() - t1) * 1000 / ${WARM};
globalThis.gc?.(); const m1 = process.memoryUsage();
const mb = (n) => n / 2 ** 20;
process.stdout.write(JSON.stringify({ firstMs, warmUs, rssMb: mb(m1.rss - m0.rss), heapMb: mb(m1.heapUsed - m0.heapUsed), externalMb: mb(m1.external + m1.arrayBuffers - m0.external - m0.arrayBuffers) }));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout) as Run)),
    );
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Synthesizes the stack, then times the lookup in fresh processes. */
export async function run(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dialback-bench-holders-'));
  try {
    const { bundleDir } = await synthesize({ outdir: path.join(dir, 'cdk.out'), context: { region: 'eu-central-1' } });
    const names = await readdir(bundleDir);
    const sizes = await Promise.all(names.map(async (n) => [n, (await stat(path.join(bundleDir, n))).size] as const));
    const kb = (n: number): string => (n / 1024).toFixed(1);
    const total = sizes.reduce((sum, [, size]) => sum + size, 0);
    const file = path.join(bundleDir, HOLDERS_FILE);
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await once(file));
    const m = (pick: (r: Run) => number, digits = 1): string => median(runs.map(pick)).toFixed(digits);
    return [
      `The dataset file beside the bundle, read by \`/ip\` (and the page) on first use; \`/check\` never reads it. Fresh \`node\` process per run (a cold container), median of ${RUNS}; warm = mean of ${WARM} lookups of four addresses (IPv4 and IPv6). Memory = growth from before the load to after the warm lookups, after GC. The route's own cost (reverse DNS stubbed) is in the handler table above. Node ${process.version}; 1-minute load average ${(os.loadavg()[0] ?? 0).toFixed(1)} on ${os.cpus().length} cores.`,
      '',
      '| first lookup after cold start ms (read + gunzip + decode + search) | warm lookup µs | RSS growth MB | heap growth MB | typed arrays MB |',
      '|---:|---:|---:|---:|---:|',
      `| ${m((r) => r.firstMs)} | ${m((r) => r.warmUs, 2)} | ${m((r) => r.rssMb)} | ${m((r) => r.heapMb)} | ${m((r) => r.externalMb)} |`,
      '',
      '| Lambda asset file | KB |',
      '|---|---:|',
      ...sizes.map(([n, size]) => `| \`${n}\` | ${kb(size)} |`),
      `| whole asset (what Lambda's zip holds; the gzip files do not shrink further) | ${kb(total)} |`,
      '',
      'Reproduce: `npm run bench -- "/ip holder"`.',
    ].join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
