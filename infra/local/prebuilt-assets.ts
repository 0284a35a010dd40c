/**
 * Stands in for functions/build/served-code.ts in the built server (build-server.ts): the served
 * assets were compiled when the server was built and lie beside it, so it needs no compiler.
 */
import { bundledWebAssets, type WebAssets } from '../../functions/web/assets.ts';

const load = bundledWebAssets();

/** The assets beside the built server; a build without them is broken, so it fails the start. */
export async function buildWebAssets(): Promise<WebAssets> {
  const assets = await load();
  if (assets === undefined) {
    throw new Error('the served assets are missing beside the built server: run npm run build:server again');
  }
  return assets;
}
