/**
 * The code the function serves: the browser code (`widget.ts`, `page-script.ts`, `page-regions.ts`, the typed
 * client) and the standalone CLI, TypeScript compiled by esbuild. It reaches the handler in one of two ways:
 * - locally (`npm start`, tests), `functions/build/served-code.ts` compiles it once at start-up;
 * - in Lambda there is no compiler, so `writeBundledAssets()` (served-code.ts) compiles it at bundle
 *   time into gzip files beside the bundle: `WEB_ASSETS_FILE` (the browser code), `CLI_FILE` (the
 *   standalone CLI) and `OPENAPI_FILE` (the OpenAPI document). `bundledWebAssets()` reads each on
 *   its first use. None is part of the module Lambda imports, so none weighs on a cold start: a
 *   container that only ever answers `/check` never reads them.
 * Either way the served code comes from the same sources, so there is one client, not two.
 */

import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** The compiled code, as text. */
export interface WebAssets {
  /** `GET /widget.js`: the `<dialback-check>` custom element, an ES module. */
  readonly widget: string;
  /** The page's progressive enhancement, inlined into `GET /` under a CSP hash. */
  readonly pageScript: string;
  /** The other regions' columns (page-regions.ts), inlined beside it on a multi-region primary only. */
  readonly pageRegionsScript: string;
  /**
   * `GET /dialback.mjs`: the CLI as one file for Node with no dependencies. The API it asks by
   * default is `SERVED_API_PLACEHOLDER`, which the route replaces with its own URL. Loaded on
   * first use; `undefined` when this deployment has no copy.
   */
  readonly cli: () => Promise<string | undefined>;
  /**
   * `GET /openapi.json`: the document as JSON text, built with stand-in limits that the route
   * replaces with the deployment's (functions/api/openapi/limits.ts). Loaded on first use.
   */
  readonly openApi: () => Promise<string | undefined>;
}

/** The standalone CLI's file name beside the Lambda bundle, gzip-compressed. */
export const CLI_FILE = 'dialback.mjs.gz';

/** Stands for the serving API's URL in `WebAssets.cli`; only URL-safe characters replace it. */
export const SERVED_API_PLACEHOLDER = '@@DIALBACK_SERVED_API@@';

/** The OpenAPI template's file name beside the Lambda bundle, gzip-compressed. */
export const OPENAPI_FILE = 'openapi.json.gz';

/** The browser code's file name beside the Lambda bundle: `InlinedAssets` as gzip-compressed JSON. */
export const WEB_ASSETS_FILE = 'web-assets.json.gz';

/** The browser code as it is stored beside the bundle (everything but the CLI and the document). */
export type InlinedAssets = Omit<WebAssets, 'cli' | 'openApi'>;

/**
 * A loader for the gzip file `name` beside this (bundled) module: read once, on first use;
 * `undefined` when the file is absent. A failed read is not remembered, so the next call retries.
 */
function besideBundle(name: string): () => Promise<string | undefined> {
  let loaded: Promise<string | undefined> | undefined;
  return () => {
    loaded ??= readFile(new URL(`./${name}`, import.meta.url)).then(
      (gz) => gunzipSync(gz).toString('utf8'),
      (error: NodeJS.ErrnoException) => {
        loaded = undefined;
        if (error.code === 'ENOENT') return undefined;
        throw error;
      },
    );
    return loaded;
  };
}

/**
 * The assets written beside the bundle, loaded on first use: `undefined` when the bundle was
 * built without them (the page then works without JavaScript and `/widget.js` is 404).
 */
export function bundledWebAssets(): () => Promise<WebAssets | undefined> {
  const browser = besideBundle(WEB_ASSETS_FILE);
  const cli = besideBundle(CLI_FILE);
  const openApi = besideBundle(OPENAPI_FILE);
  let assets: WebAssets | undefined;
  return async () => {
    if (assets !== undefined) return assets;
    const text = await browser();
    if (text === undefined) return undefined;
    assets = Object.freeze({ ...(JSON.parse(text) as InlinedAssets), cli, openApi });
    return assets;
  };
}
