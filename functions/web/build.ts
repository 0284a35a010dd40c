/**
 * Compiles the browser code with esbuild (a dev dependency: it runs where the code is built
 * or served locally, never inside Lambda). One build makes both entry points, minified,
 * for browsers that support custom elements and ES modules.
 */
import { type BuildOptions, build, buildSync, type OutputFile } from 'esbuild';
import { WEB_ASSETS_CONSTANT, type WebAssets } from './assets.ts';

const ENTRY_POINTS = {
  widget: new URL('./widget.ts', import.meta.url).pathname,
  pageScript: new URL('./page-script.ts', import.meta.url).pathname,
  pageRegionsScript: new URL('./page-regions.ts', import.meta.url).pathname,
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

function collect(files: readonly OutputFile[]): WebAssets {
  const text = (name: keyof typeof ENTRY_POINTS): string => {
    const file = files.find((f) => f.path.endsWith(`/${name}.js`));
    if (file === undefined) throw new Error(`esbuild produced no ${name}.js`);
    return file.text;
  };
  return Object.freeze({
    widget: text('widget'),
    pageScript: text('pageScript'),
    pageRegionsScript: text('pageRegionsScript'),
  });
}

/** Compiles the widget and the page script. */
export async function buildWebAssets(): Promise<WebAssets> {
  return collect((await build(OPTIONS)).outputFiles ?? []);
}

/** The same, synchronously (for bundler configuration, which is synchronous in CDK). */
export function buildWebAssetsSync(): WebAssets {
  return collect(buildSync(OPTIONS).outputFiles ?? []);
}

/**
 * The esbuild `define` entry that inlines the compiled assets into a bundle of the Lambda
 * entry, e.g. CDK `NodejsFunction`'s `bundling: { define: webAssetsDefine() }`.
 */
export function webAssetsDefine(): Record<string, string> {
  return { [WEB_ASSETS_CONSTANT]: JSON.stringify(buildWebAssetsSync()) };
}
