/**
 * Values the standalone CLI bundle (`GET /dialback.mjs`) has inlined at build time (esbuild
 * `define`): its version, and the URL of the API that served it. Run from the repository,
 * neither constant exists: the version comes from package.json and there is no served API.
 */
import { readFileSync } from 'node:fs';

/** The name of the constant holding the version. */
export const VERSION_CONSTANT = '__DIALBACK_CLI_VERSION__';

/** The name of the constant holding the serving API's URL (filled in when it is served). */
export const SERVED_API_CONSTANT = '__DIALBACK_SERVED_API__';

declare const __DIALBACK_CLI_VERSION__: string | undefined;
declare const __DIALBACK_SERVED_API__: string | undefined;

/** The package version, e.g. `0.1.0`. */
export function cliVersion(): string {
  if (typeof __DIALBACK_CLI_VERSION__ === 'string') return __DIALBACK_CLI_VERSION__;
  return packageVersion();
}

/** The version in the repository's package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The API this copy was served by, when it is the standalone file an API served. */
export function servedApi(): string | undefined {
  const value = typeof __DIALBACK_SERVED_API__ === 'string' ? __DIALBACK_SERVED_API__ : undefined;
  return value?.startsWith('http') ? value : undefined;
}
