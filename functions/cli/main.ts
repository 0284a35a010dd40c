/**
 * `dialback 22 80 443 [--api URL] [--json]` and `dialback ip`: the API from a terminal, through
 * the typed client. Exit status: 0 when every port is open, 1 when any is not, 2 on any error
 * (the reason on stderr, including how long to wait after a 429), like `diff` and `grep`.
 */
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, DialbackError } from '../client/dialback-client.ts';
import { renderCheckText } from '../contract/render-text.ts';
import { type PortResult, parsePortList, protocolOf } from '../contract/wire.ts';
import { nextStepsOf } from '../core/verdict-text.ts';
import { type BothAnswers, bothExitCode, checkBoth, type FamilyAnswer, renderBoth } from './both.ts';
import { familyFetch } from './family-fetch.ts';
import { describeListen, listenAndCheck, listenSucceeded } from './listen.ts';

/** The local server's address; a deployed API is given with `--api` or `DIALBACK_API`. */
export const DEFAULT_API = 'http://127.0.0.1:8787';

const USAGE = `Usage: dialback PORT... [--udp] [--api URL] [--json] [-4 | -6 | --both]
       dialback listen PORT [--udp] [--api URL] [--json]
       dialback ip [--api URL] [--json]

Asks a Dialback API to dial back to your address and reports each TCP port as open,
closed or filtered. PORTs are 1-65535, separated by spaces or commas.

  listen PORT  listen on PORT on all interfaces, have the API check it with a one-time
               token, and say whether the connection really reached this machine
  --udp        check (or listen on) UDP ports instead of TCP: open|filtered means no
               answer, which is normal for many UDP services; listen --udp settles it
  --api URL    the API to ask (default: $DIALBACK_API, else ${DEFAULT_API})
  -4, -6       connect to the API over IPv4 / IPv6 only (so that family is checked)
  --both       check over IPv4 and over IPv6 and show the two side by side
  --json       print JSON instead of the table
  -h, --help   this text

Exit status: 0 every port open (and, for listen, verified), 1 otherwise, 2 error.`;

/** Where output goes; the tests pass their own. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}

/** Each argument is a port list in the API's own grammar; the server enforces the count. */
function parsePorts(args: readonly string[]): number[] {
  if (args.length === 0) return [];
  try {
    return parsePortList(args.join(','), Number.MAX_SAFE_INTEGER);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function nextSteps(results: readonly PortResult[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const result of results) {
    const protocol = protocolOf(result);
    const key = `${protocol} ${result.state}`;
    if (result.state === 'open' || seen.has(key)) continue;
    seen.add(key);
    const what = protocol === 'udp' ? `UDP ports that read ${result.state}` : `${result.state} ports`;
    lines.push(`What to try for ${what}:`, ...nextStepsOf(result).map((s) => `  - ${s}`), '');
  }
  return lines.join('\n');
}

function toJson(answers: BothAnswers): Record<string, unknown> {
  const one = (answer: FamilyAnswer): unknown => (answer.ok ? answer.check : { error: answer.error.message });
  return { ipv4: one(answers.v4), ipv6: one(answers.v6) };
}

function describeFailure(error: unknown): string {
  if (!(error instanceof DialbackError)) return (error as Error).message ?? String(error);
  if (error.status === 429 && error.retryAfterSeconds !== undefined) {
    return `rate limit reached: ${error.message} (wait ${error.retryAfterSeconds} s before trying again)`;
  }
  if (error.status === 0) return error.message;
  const wait = error.retryAfterSeconds === undefined ? '' : ` (wait ${error.retryAfterSeconds} s)`;
  return `HTTP ${error.status}: ${error.message}${wait}`;
}

/** Runs the CLI; resolves with the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let values: {
    api?: string;
    json?: boolean;
    help?: boolean;
    both?: boolean;
    ipv4?: boolean;
    ipv6?: boolean;
    udp?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        api: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        both: { type: 'boolean', default: false },
        ipv4: { type: 'boolean', short: '4', default: false },
        ipv6: { type: 'boolean', short: '6', default: false },
        udp: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    }));
    if (values.help) {
      io.out(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('Say which ports to check, e.g. dialback 22 80 443.');
    const api = values.api ?? io.env.DIALBACK_API ?? DEFAULT_API;
    if (!/^https?:\/\//.test(api)) throw new UsageError(`--api must be an http(s) URL, got "${api}".`);
    if ([values.both, values.ipv4, values.ipv6].filter(Boolean).length > 1) {
      throw new UsageError('Give at most one of -4, -6 and --both.');
    }
    const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
    const client = createClient({ api, ...(family === undefined ? {} : { fetch: familyFetch(family) }) });
    if (positionals[0] === 'listen') {
      const ports = parsePorts(positionals.slice(1));
      const port = ports[0];
      if (port === undefined || ports.length > 1) throw new UsageError('"dialback listen" takes exactly one port.');
      const outcome = await listenAndCheck(client, port, { udp: values.udp === true });
      const verified = outcome.kind === 'checked' && outcome.verified;
      io.out(
        values.json
          ? `${JSON.stringify({ ...outcome.check, listen: { port, inUse: outcome.kind === 'in-use', verified } }, null, 2)}\n`
          : `${renderCheckText(outcome.check)}${describeListen(outcome, port)}\n`,
      );
      // A port already in use was checked like any other: open is success, there is just no proof.
      return listenSucceeded(outcome) ? 0 : 1;
    }
    if (values.both && values.udp) {
      throw new UsageError('--both compares TCP ports; check UDP over each family with -4 and -6.');
    }
    if (values.both) {
      if (isIP(new URL(api).hostname.replace(/^\[|\]$/g, '')) !== 0) {
        throw new UsageError('--both needs the API by a host name that has both an IPv4 and an IPv6 address.');
      }
      const ports = parsePorts(positionals);
      const answers = await checkBoth(
        { v4: createClient({ api, fetch: familyFetch(4) }), v6: createClient({ api, fetch: familyFetch(6) }) },
        ports,
      );
      io.out(values.json ? `${JSON.stringify(toJson(answers), null, 2)}\n` : renderBoth(answers, ports));
      return bothExitCode(answers);
    }
    if (positionals[0] === 'ip') {
      if (positionals.length > 1) throw new UsageError('"dialback ip" takes no ports.');
      const { data } = await client.ip();
      io.out(
        values.json
          ? `${JSON.stringify(data, null, 2)}\n`
          : `${data.ip}${data.reverseDns ? ` (${data.reverseDns})` : ''}\n`,
      );
      return 0;
    }
    const ports = parsePorts(positionals);
    const { data } = await (values.udp ? client.check([], { udp: ports }) : client.check(ports));
    const states = data.results.map((r) => r.state);
    io.out(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${renderCheckText(data)}${nextSteps(data.results)}`);
    return states.every((s) => s === 'open') ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`dialback: ${(error as Error).message}\n\n${USAGE}\n`);
    } else {
      io.err(`dialback: ${describeFailure(error)}\n`);
    }
    return 2;
  }
}

// Run when executed, not when imported by tests.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
  });
}
