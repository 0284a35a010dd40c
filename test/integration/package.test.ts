/**
 * The package for embedders, as a stranger gets it: `npm run package`'s tarball installed into
 * an empty directory with npm offline (it has no dependencies, so nothing is fetched), then its
 * `dialback` command run through npx against a real local server, and a TypeScript file that
 * imports the client type-checked (and a wrong use of it refused) and run by Node as it is.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPackage } from '../../functions/build/package.ts';
import { documentedAppForFile } from '../support/documented-app.ts';
import { portPairForFile } from '../support/port-pair.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
/** The repository's own Node (24, the `node` dev dependency), which runs TypeScript as it is. */
const NODE_24 = path.join(ROOT, 'node_modules/.bin/node');
const app = documentedAppForFile({ PROBE_TIMEOUT_MS: '1500' });
const ports = portPairForFile();

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  // npm never reaches a registry here: offline, and nothing to fetch.
  const env = { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: 120_000 }, (error, out, err) => {
      resolve({ code: error === null ? 0 : Number(error.code), out, err });
    });
  });
}

const EXAMPLE = (api: string): string => `import { type CheckResponse, createClient, DialbackError } from 'dialback';

const dialback = createClient({ api: '${api}' });
try {
  const { data }: { data: CheckResponse } = await dialback.check([${ports.open}]);
  for (const r of data.results) console.log(r.port, r.state, r.reason);
} catch (e) {
  if (e instanceof DialbackError && e.status === 429) console.log(\`wait \${e.retryAfterSeconds} s\`);
}
`;

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    lib: ['es2023', 'dom'],
    types: [],
    strict: true,
    noEmit: true,
    erasableSyntaxOnly: true,
    verbatimModuleSyntax: true,
    allowImportingTsExtensions: true,
  },
};

/** The test's temporary directory: the packed tarball, and the embedder's project (`dir`). */
let root: string | undefined;
let dir: string;
let tarball: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'dialback-package-'));
  // Packed outside the directory it is installed into, as a download would be.
  tarball = await packPackage(path.join(root, 'packed'));
  dir = path.join(root, 'app');
  await mkdir(dir);
  await writeFile(path.join(dir, 'package.json'), '{ "name": "embedder", "private": true, "type": "module" }\n');
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  const installed = await run('npm', ['install', tarball], dir);
  if (installed.code !== 0) throw new Error(`npm install failed: ${installed.err}`);
}, 180_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('the dialback package', () => {
  it('has no dependencies, exports the client with its types and the widget, and has dialback as its bin', async () => {
    const manifest = JSON.parse(await readFile(path.join(dir, 'node_modules/dialback/package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.bin).toEqual({ dialback: './dialback.mjs' });
    expect(manifest.exports['.']).toEqual({
      types: './types/client/dialback-client.d.ts',
      default: './client.mjs',
    });
    expect(manifest.exports['./widget']).toBe('./widget.js');
    const lock = JSON.parse(await readFile(path.join(dir, 'package-lock.json'), 'utf8'));
    expect(Object.keys(lock.packages)).toEqual(['', 'node_modules/dialback']);
  });

  it('runs npx dialback offline: --version, and a check against a local server', async () => {
    expect(await run('npx', ['dialback', '--version'], dir)).toMatchObject({ code: 0, out: 'dialback 0.1.0\n' });
    const check = await run('npx', ['dialback', String(ports.open), '--json', '--api', app.url], dir);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.out)).toMatchObject({ results: [{ port: ports.open, state: 'open' }] });
  });

  it('gives TypeScript the client’s types, refusing a wrong use, and Node runs the file as it is', async () => {
    await writeFile(path.join(dir, 'example.ts'), EXAMPLE(app.url));
    await writeFile(
      path.join(dir, 'wrong.ts'),
      "import { createClient } from 'dialback';\ncreateClient({ api: 8787 });\n",
    );
    const typed = await run(process.execPath, [TSC, '-p', '.'], dir);
    expect(typed.out).toMatch(/^wrong\.ts\(2,16\): error TS2322: Type 'number' is not assignable to type 'string'\./m);
    expect(typed.out).not.toContain('example.ts');
    const ran = await run(NODE_24, ['example.ts'], dir);
    expect(ran).toMatchObject({ code: 0, out: `${ports.open} open syn-ack\n` });
  });
});
