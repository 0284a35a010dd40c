/**
 * Bench section: the size of the code the function serves (browser code and the standalone CLI), as compiled by the same
 * esbuild build that `npm start` and the Lambda bundle use (raw, and gzip at its default level).
 */
import { gzipSync } from 'node:zlib';
import { buildWebAssets } from '../../functions/build/served-code.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Widget, page script and standalone CLI size';

/** Builds the assets and tabulates their sizes. */
export async function run(): Promise<string> {
  const assets = await buildWebAssets();
  const rows = [
    ['`GET /widget.js` (`<dialback-check>`, client included)', assets.widget],
    ['page script (inline in `GET /`)', assets.pageScript],
    ['regions script (inline in `GET /` of a multi-region primary only)', assets.pageRegionsScript],
    // Not in the Lambda bundle: a gzip file (level 9) beside it, read on first request.
    ['`GET /dialback.mjs` (standalone CLI, for Node)', (await assets.cli()) ?? ''],
  ] as const;
  return [
    '| asset | raw bytes | gzip bytes |',
    '|---|---:|---:|',
    ...rows.map(([name, text]) => `| ${name} | ${Buffer.byteLength(text)} | ${gzipSync(text).length} |`),
  ].join('\n');
}
