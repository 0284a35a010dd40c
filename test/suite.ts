/**
 * `npm test`: lint, then three runs side by side: the type check, Vitest's `rest` project and
 * its `lab` project. Inside one Vitest the lab files run only after every other file has ended
 * (test/vitest.config.ts), leaving two cores mostly idle for minutes while the labs wait on
 * timers and sockets; beside the CPU-bound rest they keep what makes them exact: each lab pins
 * its checker to CPU 0 and its client's receive queue to another CPU (support/netns.ts), lab
 * files still run one at a time, and every verdict is checked against the wire. The labs run at a
 * higher CPU priority than the rest, and the type check at the lowest.
 *
 * The rest project writes to the terminal as it runs; the other two are kept and printed whole
 * when they end, so no two reporters interleave. Arguments (`npm test -- <filter>`) run one
 * plain Vitest with them instead, as before.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = (name: string): string => `${ROOT}node_modules/.bin/${name}`;
const VITEST = [BIN('vitest'), 'run', '--config', 'test/vitest.config.ts'];
/**
 * The lab project's CPU priority above the rest's: a lab step (a namespace, a ruleset, a bundled
 * process) then waits for no CPU-bound test file, so the labs take about as long as they do
 * alone and the rest take what the labs leave. Raising a priority needs root, which the labs need
 * anyway; without it `nice` says so and runs them at the usual priority. The rest keep the usual
 * priority, so another program on the machine does not starve them either.
 */
const LAB_NICENESS = -5;

/** One command's outcome: its exit code and, when kept, what it printed. */
interface Ran {
  readonly name: string;
  readonly code: number;
  readonly seconds: number;
  readonly output: string;
}

/** Runs `argv`; with `keep`, its output is collected instead of shown. */
function run(name: string, argv: readonly string[], keep: boolean): Promise<Ran> {
  const started = performance.now();
  const [command, ...args] = argv as [string, ...string[]];
  // Kept output still gets colours when the terminal shows them.
  const env = keep && process.stdout.isTTY ? { ...process.env, FORCE_COLOR: '1' } : process.env;
  const child = spawn(command, args, { cwd: ROOT, env, stdio: keep ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    const done = (code: number): void =>
      resolve({
        name,
        code,
        seconds: Math.round((performance.now() - started) / 1000),
        output: Buffer.concat(chunks).toString('utf8'),
      });
    child.on('error', (error) => {
      chunks.push(Buffer.from(`${name}: ${error.message}\n`));
      done(127);
    });
    child.on('close', (code, signal) => done(code ?? (signal === null ? 1 : 128)));
  });
}

async function main(): Promise<number> {
  const extra = process.argv.slice(2);
  const lint = await run('lint', [BIN('biome'), 'check', '.'], false);
  if (lint.code !== 0) return lint.code;
  if (extra.length > 0) {
    const typecheck = await run('typecheck', [BIN('tsc'), '--noEmit'], false);
    if (typecheck.code !== 0) return typecheck.code;
    return (await run('vitest', [...VITEST, ...extra], false)).code;
  }
  const kept = [
    run('typecheck', ['nice', '-n', '19', BIN('tsc'), '--noEmit'], true),
    run('lab', ['nice', '-n', String(LAB_NICENESS), ...VITEST, '--project', 'lab'], true),
  ];
  const rest = await run('rest', [...VITEST, '--project', 'rest'], false);
  const all = [rest];
  for (const pending of kept) {
    const ran = await pending;
    if (ran.output.trim() !== '') process.stdout.write(`\n── ${ran.name} ──\n${ran.output}`);
    all.push(ran);
  }
  const line = all.map((r) => `${r.name} ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds} s`);
  process.stdout.write(`\nnpm test: ${line.join(' · ')}\n`);
  return all.some((r) => r.code !== 0) ? 1 : 0;
}

process.exitCode = await main();
