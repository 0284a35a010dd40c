/**
 * The README's client example runs as written: taken from the README, the API URL pointed at a
 * local server of this test's own, and run by Node 24 itself (no tsx: the repository's
 * TypeScript is erasable), from the repository's root as the example's import path expects.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FILE = `${ROOT}.readme-example-${process.pid}.ts`;

let app: LocalApp;
beforeAll(async () => {
  app = await startLocalApp({ env: {}, host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined });
});
afterAll(async () => {
  await rm(FILE, { force: true });
  await app?.close();
});

describe("the README's client example", () => {
  it('runs with plain node and prints each port of the check', async () => {
    const readme = await readFile(`${ROOT}README.md`, 'utf8');
    const example = /```ts\n(import \{ createClient[\s\S]*?)```/.exec(readme)?.[1];
    expect(example, 'the README has no client example').toBeDefined();
    expect(example).toContain("createClient({ api: 'http://127.0.0.1:8787' })");
    await writeFile(FILE, (example ?? '').replace('http://127.0.0.1:8787', app.url));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [FILE], { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) =>
        error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
      );
    });
    expect(out).toMatch(/^22 (open|closed|filtered) \S+$/m);
    expect(out).toMatch(/^443 (open|closed|filtered) \S+$/m);
  });
});
