/**
 * `npm run bench`: runs every benchmark section in one process, one after another, prints each
 * table and writes them all to BENCHMARKS.md with the command that reproduces them.
 * A section is a module exporting `title` and `run(): Promise<string>` (Markdown).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';

interface Section {
  readonly title: string;
  run(): Promise<string>;
}

/** Sections in the order they appear in BENCHMARKS.md; each issue adds its own module here. */
const SECTIONS: ReadonlyArray<() => Promise<Section>> = [
  () => import('./web-size.ts'),
  () => import('./lambda-memory.ts'),
  () => import('./service-load.ts'),
  () => import('./handler-cost.ts'),
  () => import('./ip-holders.ts'),
  () => import('./limiter-cost.ts'),
  () => import('./cost.ts'),
  () => import('./lab.ts'),
  () => import('./reverse-dns.ts'),
  () => import('./local-table.ts'),
  () => import('./server-memory.ts'),
  () => import('./udp-lab.ts'),
  () => import('./doctor-lab.ts'),
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const parts: string[] = [
    '# Benchmarks',
    '',
    `Reproduce with \`npm run bench\` (one run, on one machine). Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ];
  for (const load of SECTIONS) {
    const section = await load();
    if (only.length > 0 && !only.some((o) => section.title.toLowerCase().includes(o.toLowerCase()))) continue;
    process.stdout.write(`\n## ${section.title}\n`);
    const markdown = await section.run();
    process.stdout.write(`${markdown}\n`);
    parts.push(`## ${section.title}`, '', markdown, '');
  }
  if (only.length === 0) await writeFile(new URL('../../BENCHMARKS.md', import.meta.url), parts.join('\n'));
}

await main();
