/**
 * `npm run build:server`: the local server as one file for a machine that runs it as a service.
 * `npm start` compiles TypeScript (tsx) and the served browser code (esbuild) as it starts, so it
 * needs the dev dependencies; the built server needs neither. It is bundled from the same
 * sources, with the served assets compiled now and written beside it, gzip-compressed, as the
 * Lambda bundle has them: the build substitutes the assets read from there for the compiler.
 * Packages stay imports, so the server runs with the production dependencies alone
 * (`npm ci --omit=dev`), and `SERVER_FILE` is what `npm run serve` starts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { HoldersDataError, type HoldersOrigin, holdersFromDirectory } from '../../functions/build/holders-data.ts';
import { writeBundledAssets } from '../../functions/build/served-code.ts';

/** Where the built server goes, from the repository's root. */
export const SERVER_DIR = 'dist/server';
/** The built server's file, in `SERVER_DIR`. */
export const SERVER_FILE = 'dialback-server.mjs';
/**
 * How `npm run serve` and the systemd unit start Node for it. A port checker waits on sockets,
 * not on the CPU, and V8 otherwise lets its heap grow freely under load: with this flag the
 * server's RSS is about half, and follows what it keeps (BENCHMARKS.md).
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--optimize-for-size'];

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Swaps the asset compiler for the assets written beside the bundle. */
const prebuiltAssets: Plugin = {
  name: 'prebuilt-assets',
  setup(b) {
    b.onResolve({ filter: /[/\\]build[/\\]served-code\.ts$/ }, () => ({
      path: fileURLToPath(new URL('./prebuilt-assets.ts', import.meta.url)),
    }));
  },
};

/** What the build wrote and what the server imports at run time. */
export interface BuiltServer {
  readonly file: string;
  readonly assets: readonly string[];
  /** Every import left in the bundle: Node's built-ins and packages. */
  readonly imports: readonly string[];
}

/**
 * Builds the server into `dir` (default: the repository's `SERVER_DIR`), with the IP-to-network
 * dataset compiled from `holders` (default: the npm packages' data).
 */
export async function buildServer(dir = join(REPO_ROOT, SERVER_DIR), holders?: HoldersOrigin): Promise<BuiltServer> {
  const file = join(dir, SERVER_FILE);
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./main.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    packages: 'external',
    outfile: file,
    metafile: true,
    legalComments: 'none',
    plugins: [prebuiltAssets],
    logLevel: 'warning',
  });
  return { file, assets: writeBundledAssets(dir, holders), imports: externalImports(result.metafile) };
}

function externalImports(metafile: Metafile): string[] {
  const imports = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external));
  return [...new Set(imports.map((i) => i.path))].sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // DIALBACK_HOLDERS_DIR: newer dataset files than the packages' (README, "Refreshing it").
  const holdersDir = process.env.DIALBACK_HOLDERS_DIR;
  let holders: HoldersOrigin | undefined;
  try {
    holders = holdersDir === undefined || holdersDir === '' ? undefined : holdersFromDirectory(holdersDir);
  } catch (error) {
    if (!(error instanceof HoldersDataError)) throw error;
    process.stderr.write(`DIALBACK_HOLDERS_DIR: ${error.message}\n`);
    process.exit(1);
  }
  const built = await buildServer(undefined, holders);
  process.stdout.write(
    `Built ${built.file} and its assets (${built.assets.length} files). Start it with: npm run serve -- --help\n`,
  );
}
