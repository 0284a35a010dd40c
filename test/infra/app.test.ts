import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the CDK app as `cdk synth` does (tsx, context in CDK_CONTEXT_JSON); its exit code and output. */
async function runApp(context: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const outdir = await mkdtemp(join(tmpdir(), 'dialback-app-'));
  try {
    return await new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'infra/aws/app.ts'],
        {
          cwd: ROOT,
          timeout: 60_000,
          env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        },
        (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stderr }),
      );
    });
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

describe('the CDK app', () => {
  it('refuses a bad setting with one line that names it, and no stack trace', async () => {
    const { code, stderr } = await runApp({ egress: 'bogus' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^context egress="bogus" .*\n$/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
