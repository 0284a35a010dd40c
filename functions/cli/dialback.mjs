#!/usr/bin/env node
// The `dialback` command (package.json "bin"). It runs the TypeScript CLI through tsx, a dev
// dependency, so a fresh clone needs `npm ci` and no build step. Without a clone, use the
// standalone file a Dialback API serves: `curl -sO https://YOUR-API/dialback.mjs`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
await main();
