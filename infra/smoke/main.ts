/**
 * `npm run smoke -- --api URL`: the deployer's check, run right after `npm run deploy` with the
 * stack's `ApiUrl` output (or against `npm start`'s local server). Prints one PASS/FAIL/UNPROVEN
 * line per check; exits 0 when all pass, 1 when any fails, 2 on a usage error, 3 when none
 * failed but the verdicts could not be proven from this machine (behind NAT).
 */
import { parseArgs } from 'node:util';
import { renderSmoke, runSmoke, smokeExitCode } from './smoke.ts';

const USAGE = `Usage: npm run smoke -- --api URL

Checks a live Dialback API from this machine: the address it sees, the dual-stack endpoint
over IPv6, a port this machine opens (must read open, with dial proof) and one it refuses
(must read closed), bad input, 404/405, HEAD, CORS preflight and RateLimit headers, every
answer against the API's own OpenAPI document. Spends two ports of this machine's budget.

Exit codes: 0 all passed; 1 a check failed; 2 usage error; 3 nothing failed, but the API sees
an address that is not this machine's (NAT), so open and closed verdicts are unproven from
here: run it from a host with a public address of its own to prove them.`;

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
  process.exitCode = smokeExitCode(results);
}

main().catch((error: unknown) => {
  process.stderr.write(`smoke: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
