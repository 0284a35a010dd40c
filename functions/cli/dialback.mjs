#!/usr/bin/env node
// The `dialback` command (package.json "bin"). It runs the TypeScript CLI through tsx, a dev
// dependency, so a fresh clone needs `npm ci` and no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./main.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
