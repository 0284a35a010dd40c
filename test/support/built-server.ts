/**
 * A directory laid out as a server after `npm ci --omit=dev && npm run build:server`: the built
 * server in `dist/server`, and a node_modules holding only the packages package-lock.json marks
 * as needed in production (links to this checkout's), so an import of a dev dependency fails.
 */
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuiltServer, buildServer, SERVER_DIR } from '../../infra/local/build-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Lockfile {
  readonly packages: Readonly<Record<string, { readonly dev?: boolean }>>;
}

/** The top-level packages `npm ci --omit=dev` installs, from the lockfile. */
export async function productionPackages(): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  return Object.entries(lock.packages)
    .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && entry.dev !== true)
    .map(([path]) => path.slice('node_modules/'.length));
}

/** Builds the server into `dir` beside a production-only node_modules (see the file comment). */
export async function productionTree(dir: string): Promise<BuiltServer> {
  for (const name of await productionPackages()) {
    const link = join(dir, 'node_modules', name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), link, 'dir');
  }
  return buildServer(join(dir, SERVER_DIR));
}
