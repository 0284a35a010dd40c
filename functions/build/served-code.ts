/**
 * The build step, kept apart from the views it compiles (it imports the CLI and esbuild; nothing
 * the function runs imports it). Compiles the code the function serves with esbuild (a dev dependency: it runs where the
 * code is built or served locally, never inside Lambda): the browser code (widget and page
 * script, minified, for browsers that support custom elements and ES modules) and the
 * standalone CLI (one ES module for Node with no dependencies, served as `GET /dialback.mjs`).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, buildSync, type OutputFile } from 'esbuild';
import { openApiDocument } from '../api/openapi/document.ts';
import { TEMPLATE_LIMITS } from '../api/openapi/limits.ts';
import { packageVersion, SERVED_API_CONSTANT, VERSION_CONSTANT } from '../cli/inlined.ts';
import { HOLDERS_FILE } from '../core/network-holder.ts';
import {
  CLI_FILE,
  type InlinedAssets,
  OPENAPI_FILE,
  SERVED_API_PLACEHOLDER,
  WEB_ASSETS_FILE,
  type WebAssets,
} from '../web/assets.ts';
import { compiledHoldersFile, type HoldersOrigin } from './holders-data.ts';

const ENTRY_POINTS = {
  widget: new URL('../web/widget.ts', import.meta.url).pathname,
  pageScript: new URL('../web/page-script.ts', import.meta.url).pathname,
  pageRegionsScript: new URL('../web/page-regions.ts', import.meta.url).pathname,
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

function cliText(files: readonly OutputFile[]): string {
  const text = files[0]?.text;
  if (text === undefined) throw new Error('esbuild produced no dialback.mjs');
  return text;
}

function browserAssets(files: readonly OutputFile[]): InlinedAssets {
  const text = (name: keyof typeof ENTRY_POINTS): string => {
    const file = files.find((f) => f.path.endsWith(`/${name}.js`));
    if (file === undefined) throw new Error(`esbuild produced no ${name}.js`);
    return file.text;
  };
  return {
    widget: text('widget'),
    pageScript: text('pageScript'),
    pageRegionsScript: text('pageRegionsScript'),
  };
}

/** The OpenAPI document as served before the limits go in (functions/api/openapi/limits.ts). */
function openApiTemplate(): string {
  return JSON.stringify(openApiDocument(TEMPLATE_LIMITS));
}

/** The standalone CLI, as `GET /dialback.mjs` serves it before the serving API's URL goes in. */
export async function buildStandaloneCli(): Promise<string> {
  return cliText((await build(cliOptions())).outputFiles ?? []);
}

/** Compiles the widget, the page script and the standalone CLI, and builds the OpenAPI template. */
export async function buildWebAssets(): Promise<WebAssets> {
  const [web, standalone] = await Promise.all([build(OPTIONS), buildStandaloneCli()]);
  const openApi = openApiTemplate();
  return Object.freeze({
    ...browserAssets(web.outputFiles ?? []),
    cli: async () => standalone,
    openApi: async () => openApi,
  });
}

/**
 * Compiles the browser code and the standalone CLI, builds the OpenAPI template and writes them,
 * gzip-compressed, as `WEB_ASSETS_FILE`, `CLI_FILE` and `OPENAPI_FILE` in `dir` (the Lambda
 * bundle's directory, where `bundledWebAssets()` reads them on first use), beside the
 * IP-to-network dataset compiled from `holders` (`HOLDERS_FILE`; by default the npm packages'
 * data); returns the files' paths.
 */
export function writeBundledAssets(dir: string, holders?: HoldersOrigin): string[] {
  mkdirSync(dir, { recursive: true });
  const browser = JSON.stringify(browserAssets(buildSync(OPTIONS).outputFiles ?? []));
  const files: Array<[string, string]> = [
    [WEB_ASSETS_FILE, browser],
    [CLI_FILE, cliText(buildSync(cliOptions()).outputFiles ?? [])],
    [OPENAPI_FILE, openApiTemplate()],
  ];
  const written = files.map(([name, text]) => {
    const file = join(dir, name);
    writeFileSync(file, gzipSync(text, { level: 9 }));
    return file;
  });
  // The IP-to-network dataset, read by `/ip` and the page on first use (functions/core/network-holder.ts).
  const holdersFile = join(dir, HOLDERS_FILE);
  copyFileSync(compiledHoldersFile(holders), holdersFile);
  return [...written, holdersFile];
}
