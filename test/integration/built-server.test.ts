/**
 * `npm run build:server` then `npm run serve`: the server built as one file runs with plain
 * `node` and the production dependencies alone. The built file is started from a directory whose
 * node_modules holds only what package-lock.json marks as needed in production, so an import
 * of a dev dependency (tsx, esbuild, the CDK) would fail its start here, as on a server after
 * `npm ci --omit=dev`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltServer } from '../../infra/local/build-server.ts';
import { productionTree } from '../support/built-server.ts';
import { type LocalChild, startBuiltServerChild } from '../support/local-child.ts';
import { releasedPort } from '../support/ports.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the built server (npm run build:server, npm run serve)', () => {
  let dir: string;
  let built: BuiltServer;
  let server: LocalChild | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dialback-serve-'));
    built = await productionTree(dir);
    server = await startBuiltServerChild(built.file, ['--port', '0', '--ipv6-host', 'none'], dir);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('imports only Node built-ins and production dependencies', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(manifest.dependencies), ...builtinModules]);
    const packageOf = (path: string): string =>
      path
        .replace(/^node:/, '')
        .split('/')
        .slice(0, path.startsWith('@') ? 2 : 1)
        .join('/');
    const outside = built.imports.filter((path) => !allowed.has(packageOf(path)));
    expect(outside).toEqual([]);
    // The table the server embeds is one of them: without it, it could not start.
    expect(built.imports).toContain('dynalite');
  });

  it('starts with plain node and checks a port; its start-up line names the table without its credential path', async () => {
    expect(server?.output()).toMatch(/table: http:\/\/127\.0\.0\.1:\d+\)/);
    const port = await releasedPort();
    const response = await fetch(`${server?.url}/check/${port}`, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ results: [{ port, state: 'closed', reason: 'conn-refused' }] });
  });

  it('serves the assets compiled at build time: the page script, the widget and the standalone CLI', async () => {
    const cli = await fetch(`${server?.url}/dialback.mjs`);
    expect(cli.status).toBe(200);
    expect(await cli.text()).toMatch(/^#!\/usr\/bin\/env node\n/);
    const widget = await fetch(`${server?.url}/widget.js`);
    expect(widget.status).toBe(200);
    expect(widget.headers.get('content-type')).toMatch(/javascript/);
    const openApi = await fetch(`${server?.url}/openapi.json`);
    expect(await openApi.json()).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  });
});
