/** Runs the CLI in-process (`runCli`), capturing what it writes; for tests against real servers. */
import { runCli } from '../../functions/cli/main.ts';

/** The CLI's exit status and its stdout and stderr text. */
export async function runCliCaptured(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
  });
  return { code, out, err };
}
