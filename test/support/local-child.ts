/**
 * Runs `npm start`'s entry (infra/local/main.ts) in a child process, as a user would, and
 * finds the URL it prints. The child is always ended by PID in `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A running local server child. */
export interface LocalChild {
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the child wrote to stderr and stdout so far. */
  output(): string;
  /** Waits for the child to exit and gives its exit code. */
  exited(): Promise<number | null>;
  /** Sends SIGTERM (then SIGKILL after a bound) and waits for exit. */
  stop(): Promise<number | null>;
}

/** Starts the local server with `args`, optionally wrapped by `prefix` (e.g. `prlimit …`). */
export function startLocalChild(
  args: readonly string[],
  env: Record<string, string> = {},
  prefix: readonly string[] = [],
): Promise<LocalChild> {
  return startServerChild('infra/local/main.ts', args, env, prefix);
}

/**
 * Starts any TypeScript server `script` (relative to the repository) that prints
 * `listening on http://…`, such as the benchmark's bare baseline server.
 */
export function startServerChild(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  prefix: readonly string[] = [],
): Promise<LocalChild> {
  // node --import tsx runs the server in this very process, so `pid` is the server's own.
  return spawnServer([...prefix, process.execPath, '--import', 'tsx', script, ...args], ROOT, env);
}

/** Starts a built server, plain JavaScript (`npm run serve`'s file), with plain `node` and `nodeFlags` in `cwd`. */
export function startBuiltServerChild(
  file: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
  nodeFlags: readonly string[] = [],
): Promise<LocalChild> {
  return spawnServer([process.execPath, ...nodeFlags, file, ...args], cwd, env);
}

async function spawnServer(command: readonly string[], cwd: string, env: Record<string, string>): Promise<LocalChild> {
  const child = spawn(command[0] as string, command.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local server did not start in 30 s:\n${output}`)), 30_000);
    const onData = (): void => {
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found?.[1] !== undefined) {
        clearTimeout(timer);
        // Stop scanning: a long-running child (a load benchmark) would rescan a growing log.
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve(found[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`local server exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url,
    pid: child.pid as number,
    child,
    output: () => output,
    exited: () => exit,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}
