/**
 * The local server (`infra/local/main.ts`) as a real child process, for tests and benchmarks
 * that need what only a process has: its own file-descriptor limit, signals, an exit code.
 * The child is always ended by its own PID in `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../infra/local/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A running local server process. */
export interface LocalServerProcess {
  readonly pid: number;
  /** The URL it printed, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Everything it wrote to stdout (its JSON log lines) so far. */
  stdout(): string;
  /** Sends SIGKILL if it still runs; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `main.ts` with `args` and extra `env`; resolves once it prints its URL. */
export function startLocalServerProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  options: { keepStdout?: boolean } = {},
): Promise<LocalServerProcess> {
  return startServerProcess(MAIN, args, env, options);
}

/**
 * Starts any TypeScript server `script` that prints `listening on http://…` to stderr (the
 * local server, or the benchmark's bare baseline). `keepStdout: false` sends its stdout (the
 * request log) to /dev/null, so a long load run does not pile it up in this process.
 */
export async function startServerProcess(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  options: { keepStdout?: boolean } = {},
): Promise<LocalServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', options.keepStdout === false ? 'ignore' : 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local server did not start within 30 s:\n${stderr}`)), 30_000);
    const onData = (): void => {
      const found = /listening on (http:\/\/\S+)/.exec(stderr);
      if (found?.[1] !== undefined) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve(found[1]);
      }
    };
    child.stderr?.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`local server exited (${code}) before listening:\n${stderr}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  if (child.pid === undefined) throw new Error('local server has no pid');
  return { pid: child.pid, url, exited, stderr: () => stderr, stdout: () => stdout, stop };
}
