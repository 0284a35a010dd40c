/**
 * The code the function serves: the browser code (`widget.ts`, `page-script.ts`, the typed
 * client) and the standalone CLI, TypeScript compiled by esbuild. It reaches the handler in one of two ways:
 * - locally (`npm start`, tests), `build.ts` compiles it once at start-up;
 * - in Lambda there is no compiler, so the bundler inlines the compiled text as the constant
 *   `__DIALBACK_WEB_ASSETS__` (esbuild `define`, produced by `webAssetsDefine()` in `build.ts`);
 *   the CLI, a download four times the size of the rest, is not inlined: it is a gzip file beside
 *   the bundle (`CLI_FILE`, written by `writeStandaloneCli()`), read on its first request, so
 *   it costs the bundle's cold start nothing.
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
  /**
   * `GET /dialback.mjs`: the CLI as one file for Node with no dependencies. The API it asks by
   * default is `SERVED_API_PLACEHOLDER`, which the route replaces with its own URL. Loaded on
   * first use; `undefined` when this deployment has no copy.
   */
  readonly cli: () => Promise<string | undefined>;
}

/** The standalone CLI's file name beside the Lambda bundle, gzip-compressed. */
export const CLI_FILE = 'dialback.mjs.gz';

/** Stands for the serving API's URL in `WebAssets.cli`; only URL-safe characters replace it. */
export const SERVED_API_PLACEHOLDER = '@@DIALBACK_SERVED_API@@';

/** The name of the constant the Lambda bundle defines; `build.ts` produces its value. */
export const WEB_ASSETS_CONSTANT = '__DIALBACK_WEB_ASSETS__';

/** The assets as the Lambda bundle inlines them: the browser code. */
export type InlinedAssets = Omit<WebAssets, 'cli'>;

declare const __DIALBACK_WEB_ASSETS__: InlinedAssets | undefined;

/** Reads `CLI_FILE` from the directory of this (bundled) module, once; `undefined` when absent. */
function cliBesideBundle(): () => Promise<string | undefined> {
  let loaded: Promise<string | undefined> | undefined;
  return () => {
    loaded ??= readFile(new URL(`./${CLI_FILE}`, import.meta.url)).then(
      (gz) => gunzipSync(gz).toString('utf8'),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        loaded = undefined;
        throw error;
      },
    );
    return loaded;
  };
}

/** The assets inlined at bundle time, or `undefined` when the bundle was built without them. */
export function bundledWebAssets(): WebAssets | undefined {
  if (typeof __DIALBACK_WEB_ASSETS__ !== 'object') return undefined;
  return Object.freeze({ ...__DIALBACK_WEB_ASSETS__, cli: cliBesideBundle() });
}
