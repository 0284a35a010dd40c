/**
 * Bench section: the size of the code the function serves (browser code and the standalone CLI), as compiled by the same
 * esbuild build that `npm start` and the Lambda bundle use (raw, and gzip at its default level).
 */
import { gzipSync } from 'node:zlib';
import { buildWebAssets } from '../../functions/build/served-code.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Widget, page script and standalone CLI size';

/** One served asset's size. */
export interface AssetSize {
  readonly key: 'widget' | 'pageScript' | 'regionsScript' | 'cli';
  readonly name: string;
  readonly raw: number;
  readonly gzip: number;
}

/** Builds the assets and measures them; the README's figures are checked against these. */
export async function assetSizes(): Promise<AssetSize[]> {
  const assets = await buildWebAssets();
  const rows = [
    ['widget', '`GET /widget.js` (`<dialback-check>`, client included)', assets.widget],
    ['pageScript', 'page script (inline in `GET /`)', assets.pageScript],
    ['regionsScript', 'regions script (inline in `GET /` of a multi-region primary only)', assets.pageRegionsScript],
    // Not in the Lambda bundle: a gzip file (level 9) beside it, read on first request.
    ['cli', '`GET /dialback.mjs` (standalone CLI, for Node)', (await assets.cli()) ?? ''],
  ] as const;
  return rows.map(([key, name, text]) => ({ key, name, raw: Buffer.byteLength(text), gzip: gzipSync(text).length }));
}

/** Builds the assets and tabulates their sizes. */
export async function run(): Promise<string> {
  return [
    '| asset | raw bytes | gzip bytes |',
    '|---|---:|---:|',
    ...(await assetSizes()).map((a) => `| ${a.name} | ${a.raw} | ${a.gzip} |`),
  ].join('\n');
}
