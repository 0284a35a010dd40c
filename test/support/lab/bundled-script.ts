/**
 * A lab script as one plain JavaScript file, the way the Lambda bundle runs the probe: no
 * TypeScript loader in the process. Under `--import tsx`, a process that compiles (a cold cache,
 * as in a fresh clone's first run) keeps working on files from other threads after its code has
 * loaded (cache writes, expiring and removing old cache directories: measured starting 23 ms
 * after the first dial) and runs an esbuild worker with its own sockets. A descriptor closed or
 * taken under a dial makes the runtime report a false 'connect'
 * (test/integration/descriptor-takeover.test.ts), so the process that measures verdicts holds
 * nothing but the probe and Node's own threads, as production does. The lab's Dialback server is
 * `npm run build:server`'s, for the same reason.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildStandaloneCli } from '../../../functions/build/served-code.ts';
import { buildServer, SERVER_FILE } from '../../../infra/local/build-server.ts';

/** Built files, by content, so every test worker and every run of the same code share one. */
const CACHE_DIR = fileURLToPath(new URL('../../../node_modules/.cache/dialback-lab/', import.meta.url));

const built = new Map<string, Promise<string>>();

/** `entry` (an absolute path) bundled with everything it imports; the path of the `.mjs` file. */
export function bundledScript(entry: string): Promise<string> {
  let file = built.get(entry);
  if (file === undefined) {
    file = bundle(entry);
    built.set(entry, file);
  }
  return file;
}

let cli: Promise<string> | undefined;

/**
 * The standalone CLI (`GET /dialback.mjs` as an API serves it, minus the API's URL) as a file:
 * what the lab's client runs, with plain node, as a user who downloaded it would.
 */
export function standaloneCliScript(): Promise<string> {
  cli ??= buildStandaloneCli().then((text) => cached(text));
  return cli;
}

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    write: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const code = result.outputFiles[0]?.contents;
  if (code === undefined) throw new Error(`esbuild wrote nothing for ${entry}`);
  return cached(code);
}

/** `code` written once into the cache, under a name made of its hash; the file's path. */
function cached(code: Uint8Array | string): string {
  const name = `${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  mkdirSync(CACHE_DIR, { recursive: true });
  // Written under a name of its own first: another worker may be reading the same file.
  const temporary = `${CACHE_DIR}${name}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, `${CACHE_DIR}${name}`);
  return `${CACHE_DIR}${name}`;
}

let server: Promise<string> | undefined;

/**
 * The built local server (`npm run build:server`), in a directory named by the content of what
 * the build wrote; the path of its file. It stays inside the checkout, so its package imports
 * resolve to this node_modules.
 */
export function builtServerScript(): Promise<string> {
  server ??= buildServerOnce();
  return server;
}

async function buildServerOnce(): Promise<string> {
  const staging = `${CACHE_DIR}server-${process.pid}-${Date.now()}`;
  await buildServer(staging);
  const hash = createHash('sha256');
  for (const name of readdirSync(staging).sort()) hash.update(name).update(readFileSync(join(staging, name)));
  const final = `${CACHE_DIR}server-${hash.digest('hex').slice(0, 16)}`;
  try {
    renameSync(staging, final);
  } catch {
    // Another worker built the same server first (the target exists and is not empty): use its.
    rmSync(staging, { recursive: true, force: true });
  }
  return join(final, SERVER_FILE);
}
