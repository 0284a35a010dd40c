import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CDK_JSON_CONTEXT, cdkAppEnv } from '../support/synth.ts';

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
          env: cdkAppEnv(context, outdir),
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

describe('cdk.json', () => {
  it('sets every feature flag a new app of this aws-cdk-lib gets, with cross-stack references kept strong', () => {
    const recommended = JSON.parse(
      readFileSync(join(ROOT, 'node_modules/aws-cdk-lib/recommended-feature-flags.json'), 'utf8'),
    ) as Record<string, unknown>;
    // A new app gets "weak"; "strong" keeps a multi-region deployment made before this flag
    // deployable without the "both" step, and stops a secondary deleting the URL the primary lists.
    const { '@aws-cdk/core:defaultCrossStackReferences': strength, ...expected } = recommended;
    expect(strength).toBeDefined();
    expect(CDK_JSON_CONTEXT).toMatchObject(expected);
    expect(CDK_JSON_CONTEXT['@aws-cdk/core:defaultCrossStackReferences']).toBe('strong');
  });
});
