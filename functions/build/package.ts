/**
 * The package for people who embed Dialback (`npm run package`): the typed client (one ES
 * module and its `.d.ts` files), the widget and the standalone CLI as its `bin`, from the same
 * sources the service serves, with no dependencies at run time. The service's own package (AWS
 * SDK and all) stays private; this one is built beside it in `dist/package` and packed by
 * `npm pack` into `dist/`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';
import { packageVersion } from '../cli/inlined.ts';
import { buildWebAssets } from './served-code.ts';

const CLIENT = fileURLToPath(new URL('../client/dialback-client.ts', import.meta.url));
const FUNCTIONS = fileURLToPath(new URL('..', import.meta.url));

/** Where the client's types go in the package; the sources' layout below it is kept. */
const TYPES_DIR = 'types';

/** The package's manifest: exports of the client and the widget, `dialback` as its bin. */
function manifest(): Record<string, unknown> {
  return {
    name: 'dialback',
    version: packageVersion(),
    description: 'Dialback: is my port open? The typed client, the <dialback-check> widget and the dialback command.',
    type: 'module',
    license: 'MIT',
    engines: { node: '>=20.19' },
    bin: { dialback: './dialback.mjs' },
    exports: {
      '.': { types: `./${TYPES_DIR}/client/dialback-client.d.ts`, default: './client.mjs' },
      './widget': './widget.js',
      './package.json': './package.json',
    },
    types: `./${TYPES_DIR}/client/dialback-client.d.ts`,
    files: ['client.mjs', 'widget.js', 'dialback.mjs', TYPES_DIR],
  };
}

/**
 * The client's declarations and those of what they import, written under `dir`. The sources
 * import each other as `.ts` (Node runs them as they are); a published `.d.ts` names `.js`.
 */
function writeTypes(dir: string): void {
  const options: ts.CompilerOptions = {
    declaration: true,
    emitDeclarationOnly: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
    types: [],
    strict: true,
    allowImportingTsExtensions: true,
    rootDir: FUNCTIONS,
    outDir: dir,
  };
  const program = ts.createProgram([CLIENT], options);
  const result = program.emit(undefined, (file, text) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text.replace(/(from\s+'\.{1,2}\/[^']+)\.ts'/g, "$1.js'"));
  });
  const errors = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
  if (errors.length > 0) {
    throw new Error(ts.formatDiagnostics(errors, ts.createCompilerHost(options)));
  }
}

/** Builds the package's files into `dir` (emptied first); returns the files written, relative to it. */
export async function buildPackage(dir: string): Promise<string[]> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [assets, client] = await Promise.all([
    buildWebAssets(),
    build({
      entryPoints: [CLIENT],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      legalComments: 'none',
      charset: 'utf8',
      write: false,
      outfile: join(dir, 'client.mjs'),
    }),
  ]);
  const cli = await assets.cli();
  if (cli === undefined) throw new Error('the standalone CLI was not built');
  writeFileSync(join(dir, 'client.mjs'), client.outputFiles[0]?.text ?? '');
  writeFileSync(join(dir, 'widget.js'), assets.widget);
  // The served copy's API placeholder stays unfilled, so the installed command asks the local
  // server (or --api, or DIALBACK_API), as `npm run dialback` does.
  writeFileSync(join(dir, 'dialback.mjs'), cli, { mode: 0o755 });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest(), null, 2)}\n`);
  writeTypes(join(dir, TYPES_DIR));
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** Builds the package into `out/package` and packs it into `out`; returns the tarball's path. */
export async function packPackage(out: string): Promise<string> {
  const dir = join(out, 'package');
  await buildPackage(dir);
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: dir, encoding: 'utf8' });
  return join(out, name.trim());
}

// `npm run package`: into dist/ (git-ignored), printing the tarball's path.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const tarball = await packPackage(fileURLToPath(new URL('../../dist', import.meta.url)));
  process.stdout.write(`${tarball}\n`);
}
