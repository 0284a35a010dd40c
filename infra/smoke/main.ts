/**
 * `npm run smoke -- --api URL`: the deployer's check, run right after `npm run deploy` with the
 * stack's `ApiUrl` output (or against `npm start`'s local server). Prints one PASS/FAIL line
 * per check; exits 0 when all pass, 1 when any fails, 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { renderSmoke, runSmoke } from './smoke.ts';

const USAGE = `Usage: npm run smoke -- --api URL

Checks a live Dialback API from this machine: the address it sees, a check of a port this
machine opens itself (with dial proof, where the port is reachable from the API), bad input,
404/405, HEAD, CORS preflight and RateLimit headers, every answer against the API's own
OpenAPI document. Spends one port of this machine's check budget.`;

function usage(message: string): never {
  process.stderr.write(`smoke: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { api?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { api: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const api = values.api ?? process.env.DIALBACK_API;
  if (api === undefined) usage('give the API URL with --api (the stack output ApiUrl)');
  let url: URL;
  try {
    url = new URL(api);
  } catch {
    usage(`--api must be an http(s) URL, got "${api}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') usage(`--api must be an http(s) URL, got "${api}"`);
  const results = await runSmoke({ api });
  process.stdout.write(renderSmoke(api, results));
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`smoke: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
