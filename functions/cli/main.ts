/**
 * `dialback 22 80 443 [--udp] [--api URL] [--json] [--from all]`, `dialback listen [--udp] PORT`,
 * `dialback doctor [--udp] PORT` and `dialback ip`: the API
 * from a terminal, through the typed client. Exit status: 0 when every port is open, 1 when
 * any is not, 2 on any error (one line on stderr saying what happened and what to do; under
 * `--json`, a problem+json document on stdout), like `diff` and `grep`.
 *
 * Every request has deadlines (connect, then the whole answer), so no failure of the API can
 * leave the command silent for longer than they say.
 */

import { realpathSync } from 'node:fs';
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createClient, type DialbackClient } from '../client/dialback-client.ts';
import { doctorExitCode } from '../contract/doctor.ts';
import { holderLine, holderNote } from '../contract/holder-text.ts';
import { protocolOf } from '../contract/wire.ts';
import { apiHost, familyRefusal, normalizeApi } from './api-url.ts';
import { DEFAULT_DEADLINES, deadlinesOf, parsePorts, readArgs, SHORT_USAGE, swallowedByNpm, usage } from './args.ts';
import { type BothAnswers, bothExitCode, checkBoth, type FamilyAnswer, renderBoth } from './both.ts';
import { runDoctor } from './doctor.ts';
import { renderDoctor } from './doctor-render.ts';
import { CliFailure, type CliProblem, explainFailure, problemLine, UsageError } from './explain.ts';
import { type Deadlines, deadlineFetch } from './family-fetch.ts';
import { cliVersion, servedApi } from './inlined.ts';
import { describeListen, type ListenOutcome, listenAndCheck, listenSucceeded } from './listen.ts';
import { ipv4OnlyNotes } from './local-listeners.ts';
import { checkFrom } from './regions.ts';
import { bothTail, checksTail, renderForPeople } from './report.ts';
import { colourStates, colourWanted, paint, startProgress } from './terminal.ts';

/** The local server's address; a deployed API is given with `--api` or `DIALBACK_API`. */
export const DEFAULT_API = 'http://127.0.0.1:8787';

/** Where output goes, and what kind of terminal it is; the tests pass their own. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** stdout is a terminal: colour the states (unless `NO_COLOR`). */
  readonly stdoutIsTty?: boolean;
  /** stderr is a terminal: show progress while waiting (and colour errors). */
  readonly stderrIsTty?: boolean;
}

function toJson(answers: BothAnswers): Record<string, unknown> {
  const one = (answer: FamilyAnswer): unknown => (answer.ok ? answer.check : { error: answer.error.message });
  return { ipv4: one(answers.v4), ipv6: one(answers.v6) };
}

/** One run's settings, once the command line has been read. */
interface Run {
  readonly io: CliIo;
  readonly api: string;
  readonly json: boolean;
  readonly deadlines: Deadlines;
  readonly family: 4 | 6 | undefined;
  readonly both: boolean;
  /** `--udp`: the ports are UDP ports. */
  readonly udp: boolean;
  readonly colour: boolean;
  /** `doctor --map [--keep]`: forward the port on the router for the check. */
  readonly map?: { readonly keep: boolean };
  readonly client: (family?: 4 | 6) => DialbackClient;
  /** A client of another endpoint of the same deployment, with the same deadlines. */
  readonly clientAt: (api: string, family: 4 | 6) => DialbackClient;
}

/** Runs `work` under a progress line on a terminal's stderr. */
async function withProgress<T>(run: Run, label: string, work: () => Promise<T>): Promise<T> {
  const progress = startProgress(run.io.err, label, run.io.stderrIsTty === true);
  try {
    return await work();
  } finally {
    progress.stop();
  }
}

/** The check dialed the family asked for, or it says nothing about that family. */
function assertFamily(check: { family: 4 | 6 }, family: 4 | 6 | undefined): void {
  if (family === undefined || check.family === family) return;
  throw new CliFailure(
    'wrong-family',
    'Wrong family',
    `The API saw this request arrive over IPv${check.family}, not IPv${family} (a proxy or an IPv${check.family}-only endpoint in between), so no IPv${family} check ran.`,
  );
}

async function listenCommand(run: Run, ports: readonly number[]): Promise<number> {
  const port = ports[0];
  if (port === undefined || ports.length > 1) throw new UsageError('"dialback listen" takes exactly one port.');
  const families: readonly (4 | 6 | undefined)[] = run.both ? [4, 6] : [run.family];
  const clients = run.both ? await bothClients(run) : undefined;
  const outcomes: { family: 4 | 6 | undefined; outcome: ListenOutcome }[] = [];
  for (const family of families) {
    const over = family === undefined ? '' : ` over IPv${family}`;
    const what = run.udp ? `UDP port ${port}` : `port ${port}`;
    const client = family === undefined || clients === undefined ? run.client(family) : clients[`v${family}`];
    const outcome = await withProgress(run, `Listening on ${what} and asking ${run.api} to check it${over}`, () =>
      listenAndCheck(client, port, { udp: run.udp }),
    );
    assertFamily(outcome.check, family);
    outcomes.push({ family, outcome });
  }
  const verified = (o: ListenOutcome): boolean => o.kind === 'checked' && o.verified;
  const json = (o: ListenOutcome): unknown => ({
    ...o.check,
    listen: { port, inUse: o.kind === 'in-use', verified: verified(o) },
  });
  if (run.json) {
    const body = run.both
      ? Object.fromEntries(outcomes.map(({ family, outcome }) => [`ipv${family}`, json(outcome)]))
      : json(outcomes[0]?.outcome as ListenOutcome);
    run.io.out(`${JSON.stringify(body, null, 2)}\n`);
  } else if (run.both) {
    // One report: the families side by side, each family's proof line, then the advice once per family.
    const [v4, v6] = outcomes.map(({ outcome }): FamilyAnswer => ({ ok: true, check: outcome.check }));
    const answers = { v4: v4 as FamilyAnswer, v6: v6 as FamilyAnswer };
    const proofs = outcomes.map(({ family, outcome }) => `IPv${family}: ${describeListen(outcome, port)}`);
    const table = renderBoth(answers, [port], run.udp ? 'udp' : 'tcp');
    run.io.out(colourStates(`${table}\n${proofs.join('\n')}\n${bothTail(answers)}`, run.colour));
  } else {
    const only = outcomes[0]?.outcome as ListenOutcome;
    run.io.out(renderForPeople(only.check, run.colour, `${describeListen(only, port)}\n\n`));
  }
  // Exit 0 only when the check reached this machine's own listener: anything else is unproven.
  return outcomes.every(({ outcome }) => listenSucceeded(outcome)) ? 0 : 1;
}

/**
 * The two clients of `--both`. An API given by a host name is asked once over each family. One
 * given by an address can be reached over that address's family only, so the two checks go to
 * the endpoints its `/ip` names (a local server's are 127.0.0.1 and localhost, i.e. ::1).
 */
async function bothClients(run: Run): Promise<{ v4: DialbackClient; v6: DialbackClient }> {
  if (isIP(apiHost(run.api)) === 0) return { v4: run.client(4), v6: run.client(6) };
  const { endpoints } = (await run.client().ip()).data;
  if (endpoints.ipv4 === null || endpoints.dualStack === null) {
    throw new UsageError(
      `--both needs an IPv4 and an IPv6 way to the API; ${run.api} is one address of one family, and its /ip names no ${endpoints.ipv4 === null ? 'IPv4-only' : 'dual-stack'} endpoint. Give the API by a host name with both an IPv4 and an IPv6 address.`,
    );
  }
  return { v4: run.clientAt(endpoints.ipv4, 4), v6: run.clientAt(endpoints.dualStack, 6) };
}

/** `dialback doctor PORT`: every link from the service out, the first broken one, and the next step. */
async function doctorCommand(run: Run, ports: readonly number[]): Promise<number> {
  const port = ports[0];
  if (port === undefined || ports.length > 1) throw new UsageError('"dialback doctor" takes exactly one port.');
  const protocol = run.udp ? 'udp' : 'tcp';
  const report = await withProgress(run, `Examining ${port}/${protocol} from this machine out to ${run.api}`, () =>
    runDoctor(
      { port, protocol },
      {
        client: run.client(run.family),
        describeFailure: (error) => problemLine(explainFailure(error, run.api, run.deadlines)),
        ...(run.map === undefined ? {} : { map: run.map }),
        ...(run.family === undefined ? {} : { family: run.family }),
      },
    ),
  );
  run.io.out(run.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report, run.colour));
  return doctorExitCode(report.verdict);
}

async function bothCommand(run: Run, ports: readonly number[]): Promise<number> {
  const answers = await withProgress(run, `Checking ${ports.join(', ')} over IPv4 and IPv6 with ${run.api}`, async () =>
    checkBoth(await bothClients(run), ports),
  );
  run.io.out(
    run.json
      ? `${JSON.stringify(toJson(answers), null, 2)}\n`
      : colourStates(`${renderBoth(answers, ports)}${bothTail(answers)}`, run.colour),
  );
  return bothExitCode(answers);
}

async function fromCommand(run: Run, from: string, ports: readonly number[]): Promise<number> {
  const where = from.trim() === 'all' ? 'every region' : from;
  // A region's failure reads as the same failure of a one-region check would.
  const describe = (error: unknown, api: string): string => problemLine(explainFailure(error, api, run.deadlines));
  let answer: Awaited<ReturnType<typeof checkFrom>>;
  try {
    answer = await withProgress(run, `Checking ${ports.join(', ')} from ${where} with ${run.api}`, () =>
      checkFrom(run.client(run.family), from, ports, run.json, describe),
    );
  } catch (error) {
    // A malformed --from, or a region this deployment does not list (UnknownRegion).
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  const checks = answer.checks.outcomes.flatMap((o) => (o.ok ? [o.check] : []));
  run.io.out(run.json ? answer.output : colourStates(`${answer.output}${checksTail(checks)}`, run.colour));
  return answer.code;
}

async function ipCommand(run: Run): Promise<number> {
  const { data } = await withProgress(run, `Asking ${run.api}`, () => run.client(run.family).ip());
  assertFamily(data, run.family);
  if (run.json) {
    run.io.out(`${JSON.stringify(data, null, 2)}\n`);
    return 0;
  }
  // An older deployment's /ip has no holder fields: the line and the note are then left out.
  const holder = data.asn === undefined ? undefined : holderLine(data);
  const note = data.networkKind === undefined ? undefined : holderNote(data);
  const lines = [`${data.ip}${data.reverseDns ? ` (${data.reverseDns})` : ''}`, holder, note];
  run.io.out(`${lines.filter((l) => l !== undefined).join('\n')}\n`);
  return 0;
}

async function checkCommand(run: Run, ports: readonly number[]): Promise<number> {
  const what = run.udp ? `UDP ${ports.join(', ')}` : ports.join(', ');
  const { data } = await withProgress(run, `Checking ${what} with ${run.api}`, () =>
    run.udp ? run.client(run.family).check([], { udp: ports }) : run.client(run.family).check(ports),
  );
  assertFamily(data, run.family);
  // An IPv6 check of a service that listens over IPv4 only reads closed: say that, not "listen on all interfaces".
  const notOpen = data.results.filter((r) => r.state !== 'open' && protocolOf(r) === 'tcp').map((r) => r.port);
  const notes = data.family === 6 && !run.json ? await ipv4OnlyNotes(notOpen) : [];
  const tail = notes.length === 0 ? '' : `${notes.join('\n')}\n\n`;
  run.io.out(run.json ? `${JSON.stringify(data, null, 2)}\n` : renderForPeople(data, run.colour, tail));
  return data.results.every((r) => r.state === 'open') ? 0 : 1;
}

function report(io: CliIo, json: boolean, problem: CliProblem, usageText: string | undefined): void {
  if (json) {
    io.out(`${JSON.stringify(problem, null, 2)}\n`);
    return;
  }
  const prefix = paint('dialback:', 'red', colourWanted(io.stderrIsTty === true, io.env));
  io.err(`${prefix} ${problemLine(problem)}\n${usageText === undefined ? '' : `${usageText}\n`}`);
}

/** Runs the CLI; resolves with the exit status. Never throws and never prints a stack trace. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const wantsJson = argv.includes('--json');
  let api = DEFAULT_API;
  let deadlines = DEFAULT_DEADLINES;
  try {
    const swallowed = swallowedByNpm(io.env);
    if (swallowed.length > 0) {
      throw new UsageError(
        `npm kept ${swallowed.join(', ')} for itself, so dialback never saw ${swallowed.length > 1 ? 'them' : 'it'}: put -- before dialback's arguments, as in npm run dialback -- 22 ${swallowed.join(' ')}.`,
      );
    }
    const { values, positionals } = readArgs(argv);
    api = normalizeApi(values.api ?? io.env.DIALBACK_API ?? servedApi() ?? DEFAULT_API);
    if (values.help) {
      io.out(`${usage(api)}\n`);
      return 0;
    }
    if (values.version) {
      io.out(`dialback ${cliVersion()}\n`);
      return 0;
    }
    deadlines = deadlinesOf(values);
    if (positionals.length === 0) throw new UsageError('Say which ports to check, e.g. dialback 22 80 443.');
    if ([values.both, values.ipv4, values.ipv6].filter(Boolean).length > 1) {
      throw new UsageError('Give at most one of -4, -6 and --both.');
    }
    const family = values.ipv4 ? 4 : values.ipv6 ? 6 : undefined;
    if (family !== undefined) {
      const refusal = familyRefusal(api, family);
      if (refusal !== undefined) throw new UsageError(refusal);
    }
    const both = values.both === true;
    const [command, ...rest] = positionals;
    // listen --udp --both binds one dual-stack socket and can prove each family; a check cannot compare them.
    if (both && values.udp && command !== 'listen') {
      throw new UsageError('--both compares TCP ports; check UDP over each family with -4 and -6.');
    }
    if (values.from !== undefined && (both || command === 'listen' || command === 'ip' || command === 'doctor')) {
      throw new UsageError('--from checks ports; it does not combine with --both, listen, doctor or ip.');
    }
    // The regions table has one column per region of TCP states; UDP's are asked region by region.
    if (values.from !== undefined && values.udp) {
      throw new UsageError('--from checks TCP ports; check UDP from one region at a time with --api.');
    }
    if ((values.map || values.keep) && command !== 'doctor') {
      throw new UsageError(
        '--map and --keep belong to "dialback doctor": it forwards the port on the router for its check.',
      );
    }
    if (values.keep && !values.map) throw new UsageError('--keep keeps the forward --map makes; give --map too.');
    const base = api;
    const fixed = deadlines;
    const run: Run = {
      io,
      api,
      json: values.json === true,
      deadlines,
      family,
      both,
      udp: values.udp === true,
      colour: colourWanted(io.stdoutIsTty === true, io.env),
      ...(values.map ? { map: { keep: values.keep === true } } : {}),
      client: (f) => createClient({ api: base, fetch: deadlineFetch(fixed, f) }),
      clientAt: (other, f) => createClient({ api: other, fetch: deadlineFetch(fixed, f) }),
    };
    if (values.from !== undefined) return await fromCommand(run, values.from, parsePorts(positionals));
    if (command === 'listen') return await listenCommand(run, parsePorts(rest));
    if (command === 'doctor') {
      if (both) throw new UsageError('"dialback doctor" checks one family; run it with -4 and with -6.');
      return await doctorCommand(run, parsePorts(rest));
    }
    if (command === 'ip') {
      if (rest.length > 0) throw new UsageError('"dialback ip" takes no ports.');
      if (both)
        throw new UsageError('"dialback ip --both" is not supported; run "dialback ip -4" and "dialback ip -6".');
      return await ipCommand(run);
    }
    const ports = parsePorts(positionals);
    return both ? await bothCommand(run, ports) : await checkCommand(run, ports);
  } catch (error) {
    const isUsage = error instanceof UsageError;
    const problem = isUsage
      ? { type: 'urn:dialback:cli:usage', title: 'Usage', detail: error.message }
      : explainFailure(error, api, deadlines);
    report(io, wantsJson, problem, isUsage ? SHORT_USAGE : undefined);
    return 2;
  }
}

/** Runs the CLI as this process: real streams, exit status set, nothing thrown past it. */
export async function main(): Promise<void> {
  // A failure outside runCli's reach is still one line, never a stack trace.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`dialback: unexpected failure: ${error.message}\n`);
    process.exit(2);
  });
  process.exitCode = await runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    stdoutIsTty: process.stdout.isTTY === true,
    stderrIsTty: process.stderr.isTTY === true,
  });
}

/** Whether this module is the program being run (also as the standalone bundle, maybe through a symlink). */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

// Run when executed, not when imported by tests.
if (isMain()) await main();
