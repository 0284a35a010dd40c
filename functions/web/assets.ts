/**
 * The code the function serves: the browser code (`widget.ts`, `page-script.ts`, the typed
 * client) and the standalone CLI, TypeScript compiled by esbuild. It reaches the handler in one of two ways:
 * - locally (`npm start`, tests), `build.ts` compiles it once at start-up;
 * - in Lambda there is no compiler, so the bundler inlines the compiled text as the constant
 *   `__DIALBACK_WEB_ASSETS__` (esbuild `define`, produced by `webAssetsDefine()` in `build.ts`),
 *   the CLI gzip-compressed (base64), since it is most of the text and only a download.
 * Either way the served code comes from the same sources, so there is one client, not two.
 */

import { gunzipSync } from 'node:zlib';

/** The compiled code, as text. */
export interface WebAssets {
  /** `GET /widget.js`: the `<dialback-check>` custom element, an ES module. */
  readonly widget: string;
  /** The page's progressive enhancement, inlined into `GET /` under a CSP hash. */
  readonly pageScript: string;
  /**
   * `GET /dialback.mjs`: the CLI as one file for Node with no dependencies. The API it asks by
   * default is `SERVED_API_PLACEHOLDER`, which the route replaces with its own URL.
   */
  readonly cli: string;
}

/** Stands for the serving API's URL in `WebAssets.cli`; only URL-safe characters replace it. */
export const SERVED_API_PLACEHOLDER = '@@DIALBACK_SERVED_API@@';

/** The name of the constant the Lambda bundle defines; `build.ts` produces its value. */
export const WEB_ASSETS_CONSTANT = '__DIALBACK_WEB_ASSETS__';

/** The assets as the Lambda bundle inlines them: the CLI compressed. */
export type InlinedAssets = Omit<WebAssets, 'cli'> & {
  /** `WebAssets.cli`, gzip-compressed, in base64. */
  readonly cliGzip: string;
};

declare const __DIALBACK_WEB_ASSETS__: InlinedAssets | undefined;

/** The assets inlined at bundle time, or `undefined` when the bundle was built without them. */
export function bundledWebAssets(): WebAssets | undefined {
  if (typeof __DIALBACK_WEB_ASSETS__ !== 'object') return undefined;
  const { cliGzip, ...browser } = __DIALBACK_WEB_ASSETS__;
  return Object.freeze({ ...browser, cli: gunzipSync(Buffer.from(cliGzip, 'base64')).toString('utf8') });
}
