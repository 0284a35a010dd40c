/**
 * The sizes the README quotes are the ones `npm run bench -- widget` measures now: within 5 %, so
 * a change that grows or shrinks an asset noticeably must update the README with it.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AssetSize, assetSizes } from '../bench/web-size.ts';

const TOLERANCE = 0.05;

let readme: string;
let sizes: Map<AssetSize['key'], AssetSize>;
beforeAll(async () => {
  readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  sizes = new Map((await assetSizes()).map((a) => [a.key, a]));
}, 60_000);

/** The two figures (kB, then gzipped kB) `pattern` finds in the README. */
function quoted(pattern: RegExp): [number, number] {
  const found = pattern.exec(readme);
  if (found === null) throw new Error(`the README no longer says ${pattern}`);
  return [Number(found[1]), Number(found[2])];
}

describe('figures quoted in the README', () => {
  it.each([
    ['widget', /About ([\d.]+) kB, ([\d.]+) kB gzipped, with the two-family check/],
    ['cli', /its ([\d.]+) kB \(([\d.]+) kB gzipped\) cost the bundle's cold start nothing/],
  ] as const)('%s: raw and gzipped size as measured', (key, pattern) => {
    const [raw, gzip] = quoted(pattern);
    const size = sizes.get(key);
    const measured = `measured ${((size?.raw ?? 0) / 1000).toFixed(1)} kB, ${((size?.gzip ?? 0) / 1000).toFixed(1)} kB gzipped`;
    expect(Math.abs(raw * 1000 - (size?.raw ?? 0)) / (size?.raw ?? 1), measured).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(gzip * 1000 - (size?.gzip ?? 0)) / (size?.gzip ?? 1), measured).toBeLessThanOrEqual(TOLERANCE);
  });
});
