/**
 * The browser code the function serves. It is TypeScript (`widget.ts`, `page-script.ts`, the
 * typed client) compiled by esbuild, and reaches the handler in one of two ways:
 * - locally (`npm start`, tests), `build.ts` compiles it once at start-up;
 * - in Lambda there is no compiler, so the bundler inlines the compiled text as the constant
 *   `__DIALBACK_WEB_ASSETS__` (esbuild `define`, produced by `webAssetsDefine()` in `build.ts`).
 * Either way the served code comes from the same sources, so there is one client, not two.
 */

/** The compiled browser code, as text. */
export interface WebAssets {
  /** `GET /widget.js`: the `<dialback-check>` custom element, an ES module. */
  readonly widget: string;
  /** The page's progressive enhancement, inlined into `GET /` under a CSP hash. */
  readonly pageScript: string;
  /** The other regions' columns (page-regions.ts), inlined beside it on a multi-region primary only. */
  readonly pageRegionsScript: string;
}

/** The name of the constant the Lambda bundle defines; `build.ts` produces its value. */
export const WEB_ASSETS_CONSTANT = '__DIALBACK_WEB_ASSETS__';

declare const __DIALBACK_WEB_ASSETS__: WebAssets | undefined;

/** The assets inlined at bundle time, or `undefined` when the bundle was built without them. */
export function bundledWebAssets(): WebAssets | undefined {
  return typeof __DIALBACK_WEB_ASSETS__ === 'object' ? __DIALBACK_WEB_ASSETS__ : undefined;
}
