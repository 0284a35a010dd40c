/**
 * Compiles the code the function serves with esbuild (a dev dependency: it runs where the
 * code is built or served locally, never inside Lambda): the browser code (widget and page
 * script, minified, for browsers that support custom elements and ES modules) and the
 * standalone CLI (one ES module for Node with no dependencies, served as `GET /dialback.mjs`).
 */
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, buildSync, type OutputFile } from 'esbuild';
import { packageVersion, SERVED_API_CONSTANT, VERSION_CONSTANT } from '../cli/inlined.ts';
import { type InlinedAssets, SERVED_API_PLACEHOLDER, WEB_ASSETS_CONSTANT, type WebAssets } from './assets.ts';

const ENTRY_POINTS = {
  widget: new URL('./widget.ts', import.meta.url).pathname,
  pageScript: new URL('./page-script.ts', import.meta.url).pathname,
} as const;

const OPTIONS: BuildOptions = {
  entryPoints: ENTRY_POINTS,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Every browser with adoptedStyleSheets and private class fields.
  target: ['chrome99', 'firefox101', 'safari16.4'],
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  write: false,
  outdir: '/dialback-web',
};

/** The standalone CLI: the same sources as `npm run dialback`, for the Node versions we support. */
function cliOptions(): BuildOptions {
  return {
    entryPoints: [new URL('../cli/main.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    outfile: '/dialback-cli/dialback.mjs',
    banner: { js: '#!/usr/bin/env node' },
    define: {
      [SERVED_API_CONSTANT]: JSON.stringify(SERVED_API_PLACEHOLDER),
      [VERSION_CONSTANT]: JSON.stringify(packageVersion()),
    },
  };
}

function collect(web: readonly OutputFile[], cli: readonly OutputFile[]): WebAssets {
  const text = (name: keyof typeof ENTRY_POINTS): string => {
    const file = web.find((f) => f.path.endsWith(`/${name}.js`));
    if (file === undefined) throw new Error(`esbuild produced no ${name}.js`);
    return file.text;
  };
  const cliText = cli[0]?.text;
  if (cliText === undefined) throw new Error('esbuild produced no dialback.mjs');
  return Object.freeze({ widget: text('widget'), pageScript: text('pageScript'), cli: cliText });
}

/** Compiles the widget, the page script and the standalone CLI. */
export async function buildWebAssets(): Promise<WebAssets> {
  const [web, cli] = await Promise.all([build(OPTIONS), build(cliOptions())]);
  return collect(web.outputFiles ?? [], cli.outputFiles ?? []);
}

/** The same, synchronously (for bundler configuration, which is synchronous in CDK). */
export function buildWebAssetsSync(): WebAssets {
  return collect(buildSync(OPTIONS).outputFiles ?? [], buildSync(cliOptions()).outputFiles ?? []);
}

/**
 * The esbuild `define` entry that inlines the compiled assets into a bundle of the Lambda
 * entry, e.g. CDK `NodejsFunction`'s `bundling: { define: webAssetsDefine() }`.
 */
export function webAssetsDefine(): Record<string, string> {
  const { cli, ...browser } = buildWebAssetsSync();
  const inlined: InlinedAssets = { ...browser, cliGzip: gzipSync(cli, { level: 9 }).toString('base64') };
  return { [WEB_ASSETS_CONSTANT]: JSON.stringify(inlined) };
}
