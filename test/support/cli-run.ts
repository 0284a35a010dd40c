/** Runs the CLI in-process with captured output, as the CLI tests need it. */
import { type CliIo, runCli } from '../../functions/cli/main.ts';

/** One run: exit status and what went to stdout and stderr. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs `dialback args…` with an empty environment unless `io` says otherwise. */
export async function runCaptured(args: readonly string[], io: Partial<CliIo> = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env: {},
    ...io,
  });
  return { code, out, err };
}
