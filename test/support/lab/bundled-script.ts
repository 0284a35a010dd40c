/**
 * A lab script as one plain JavaScript file, the way the Lambda bundle runs the probe: no
 * TypeScript loader in the process. Under `--import tsx`, a process that compiles (a cold cache,
 * as in a fresh clone's first run) keeps working on files from other threads after its code has
 * loaded (cache writes, expiring and removing old cache directories: measured starting 23 ms
 * after the first dial) and runs an esbuild worker with its own sockets. A descriptor closed or
 * taken under a dial makes the runtime report a false 'connect'
 * (test/integration/descriptor-takeover.test.ts), so the process that measures verdicts holds
 * nothing but the probe and Node's own threads, as production does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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
  const name = `${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  mkdirSync(CACHE_DIR, { recursive: true });
  // Written under a name of its own first: another worker may be reading the same file.
  const temporary = `${CACHE_DIR}${name}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, `${CACHE_DIR}${name}`);
  return `${CACHE_DIR}${name}`;
}
