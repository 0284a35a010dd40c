/**
 * Several regions, from the synthesized templates: `-c regions=a,b,c` builds one complete stack per
 * region, each pinned to it; the primary's function is told every region's API URL through
 * CDK cross-region references and nothing else crosses a region; cdk-nag passes on all of
 * them; and one region builds the very stack it always did.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';
import { regionStackId, STACK_NAME } from '../../infra/aws/regions.ts';
import type { DialbackStack } from '../../infra/aws/stack.ts';
import { acknowledgments } from '../support/acknowledgments.ts';
import { buildStacks, cdkAppEnv } from '../support/synth.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

const REGIONS = ['eu-central-1', 'us-east-1', 'ap-southeast-1'] as const;

type Resource = { Type: string; Properties?: Record<string, unknown> };

let outdir: string;
let counter = 0;

/** Builds and synthesizes (cross-region references are resolved at synthesis). */
function synth(context: Record<string, unknown>): DialbackStack[] {
  counter += 1;
  const { app, stacks } = buildStacks({ outdir: join(outdir, String(counter)), context, bundle: false });
  app.synth();
  return stacks;
}

function resourcesOf(stack: DialbackStack): Record<string, Resource> {
  return Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
}

function countByType(resources: Record<string, Resource>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
}

/** The Dialback function's environment (the cross-region providers are functions too). */
function functionEnv(stack: DialbackStack): Record<string, unknown> {
  const id = stack.getLogicalId(stack.api.node.defaultChild as never);
  const fn = resourcesOf(stack)[id];
  return (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** Resource types the cross-region references add, and nothing of Dialback's own. */
const REFERENCE_TYPES = [
  'Custom::CrossRegionExportReader',
  'Custom::CrossRegionExportWriter',
  'AWS::IAM::Role',
  'AWS::Lambda::Function',
];

let stacks: DialbackStack[];
let single: DialbackStack;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'dialback-regions-'));
  stacks = synth({ regions: REGIONS.join(',') });
  [single] = synth({ region: 'eu-central-1' }) as [DialbackStack];
});

afterAll(async () => {
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

describe('regions=eu-central-1,us-east-1,ap-southeast-1', () => {
  it('builds three stacks, each pinned to its region: the primary named Dialback as ever, the others after their region', () => {
    expect(stacks.map((s) => [s.artifactId, s.stackName, s.region])).toEqual([
      [STACK_NAME, STACK_NAME, 'eu-central-1'],
      ['Dialback-us-east-1', 'Dialback-us-east-1', 'us-east-1'],
      ['Dialback-ap-southeast-1', 'Dialback-ap-southeast-1', 'ap-southeast-1'],
    ]);
  });

  it('makes each stack complete: table, key, function, API, access logs and alarms of its own', () => {
    const own = countByType(resourcesOf(single));
    for (const stack of stacks) {
      const counts = countByType(resourcesOf(stack));
      for (const [type, count] of Object.entries(own)) {
        // The cross-region providers add one function and one role beside Dialback's own.
        const extra = type === 'AWS::Lambda::Function' || type === 'AWS::IAM::Role' ? 1 : 0;
        expect(counts[type], `${stack.artifactId} ${type}`).toBe(count + extra);
      }
      const added = Object.keys(counts).filter((type) => !(type in own));
      expect(
        added.every((type) => REFERENCE_TYPES.includes(type)),
        `${stack.artifactId}: ${added}`,
      ).toBe(true);
      expect(Template.fromStack(stack).toJSON().Outputs.Region.Value).toBe(stack.region);
    }
  });

  it("tells the primary's function every region's API URL, itself first, and no other stack's", () => {
    const [primary, ...others] = stacks as [DialbackStack, ...DialbackStack[]];
    const env = functionEnv(primary);
    const regions = env.REGIONS as { 'Fn::Join': [string, unknown[]] };
    const parts = regions['Fn::Join'][1];
    const ownApi = Object.entries(resourcesOf(primary)).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api')?.[0];
    const [reader] =
      Object.entries(resourcesOf(primary)).find(([, r]) => r.Type === 'Custom::CrossRegionExportReader') ?? [];
    expect(parts).toEqual([
      'eu-central-1=',
      { 'Fn::GetAtt': [ownApi, 'ApiEndpoint'] },
      ',us-east-1=',
      { 'Fn::GetAtt': [reader, expect.stringMatching(/^\/cdk\/exports\/Dialback\/Dialbackuseast1.*ApiEndpoint/)] },
      ',ap-southeast-1=',
      { 'Fn::GetAtt': [reader, expect.stringMatching(/^\/cdk\/exports\/Dialback\/Dialbackapsoutheast1.*ApiEndpoint/)] },
    ]);
    // What the primary's handler reads once CloudFormation fills the URLs in.
    const filled = [
      'eu-central-1=https://p.example',
      ',us-east-1=https://u.example',
      ',ap-southeast-1=https://a.example',
    ];
    expect(loadConfig({ AWS_REGION: 'eu-central-1', REGIONS: filled.join('') }).regions.map((r) => r.name)).toEqual([
      ...REGIONS,
    ]);
    for (const other of others) {
      expect(functionEnv(other), other.artifactId).not.toHaveProperty('REGIONS');
      // Each other stack writes its own IPv4 API URL, and only that, into the primary's region.
      const writers = Object.values(resourcesOf(other)).filter((r) => r.Type === 'Custom::CrossRegionExportWriter');
      expect(writers).toHaveLength(1);
      const props = writers[0]?.Properties?.WriterProps as { region: string; exports: Record<string, unknown> };
      expect(props.region).toBe('eu-central-1');
      const api = Object.entries(resourcesOf(other)).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api')?.[0];
      expect(Object.values(props.exports)).toEqual([{ 'Fn::GetAtt': [api, 'ApiEndpoint'] }]);
    }
  });

  it('puts nothing of another region on a check’s path: no imports, and only the primary reads exports', () => {
    for (const stack of stacks) {
      const text = JSON.stringify(Template.fromStack(stack).toJSON());
      expect(text, stack.artifactId).not.toContain('Fn::ImportValue');
      const readers = Object.values(resourcesOf(stack)).filter((r) => r.Type === 'Custom::CrossRegionExportReader');
      expect(readers, stack.artifactId).toHaveLength(stack === stacks[0] ? 1 : 0);
      // The table, key and log group the function uses are its own stack's.
      const env = functionEnv(stack);
      const own = new Set(Object.keys(resourcesOf(stack)));
      expect(own.has((env.TABLE_NAME as { Ref: string }).Ref)).toBe(true);
      expect(own.has((env.RATE_LIMIT_KEY_SECRET_ARN as { Ref: string }).Ref)).toBe(true);
    }
  });

  it('leaves no synth warning: the flags cdk.json sets include the cross-stack reference strength', () => {
    for (const stack of stacks) {
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue()), stack.artifactId).toEqual([]);
    }
  });

  it('scopes the cross-region providers to their SSM parameters in the primary’s region', () => {
    for (const stack of stacks) {
      const roles = Object.entries(resourcesOf(stack)).filter(
        ([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith('CustomCrossRegionExport'),
      );
      expect(roles, stack.artifactId).toHaveLength(1);
      const policies = roles[0]?.[1].Properties?.Policies as Array<{ PolicyDocument: { Statement: unknown[] } }>;
      const text = JSON.stringify(policies);
      expect(text).toContain(':ssm:eu-central-1:');
      expect(text).toMatch(/:parameter\/cdk\/exports\/(Dialback\/)?\*/);
      for (const statement of policies.flatMap((p) => p.PolicyDocument.Statement) as Array<{ Action: string[] }>) {
        expect(statement.Action.every((a) => a.startsWith('ssm:'))).toBe(true);
      }
    }
  });

  it('passes cdk-nag on every stack with the one-region stack’s acknowledgments and no more', () => {
    const ids = (stack: DialbackStack) =>
      acknowledgments(stack)
        .map((a) => `${a.path.replace(/^[^/]+\//, '')} ${a.id}`)
        .sort();
    for (const stack of stacks) {
      expect(new AwsSolutionsChecks().validateScope(stack).violations, stack.artifactId).toEqual([]);
      expect(ids(stack), stack.artifactId).toEqual(ids(single));
    }
  });
});

describe('one region', () => {
  it('builds the one Dialback stack, with no REGIONS and nothing cross-region', () => {
    expect([single.artifactId, single.stackName, single.region]).toEqual([STACK_NAME, STACK_NAME, 'eu-central-1']);
    expect(functionEnv(single)).not.toHaveProperty('REGIONS');
    expect(Object.values(resourcesOf(single)).some((r) => r.Type.startsWith('Custom::'))).toBe(false);
  });

  it('is the same stack whether named by region or as a one-item regions list', () => {
    const [viaList] = synth({ regions: 'eu-central-1' });
    // With bundling skipped, CDK hashes the bundling command, whose afterBundling hook names the
    // standalone CLI's path in this synth's own output directory: only the code's key differs.
    const template = (stack: DialbackStack): string =>
      JSON.stringify(Template.fromStack(stack).toJSON()).replace(/"S3Key":"[0-9a-f]{64}\.zip"/g, '"S3Key":"…"');
    expect(template(viaList as DialbackStack)).toEqual(template(single));
  });
});

describe('the CDK app with regions (what `cdk synth -c regions=…` runs)', () => {
  it('writes one template per region, each with a clean cdk-nag report', async () => {
    const out = join(outdir, 'app-regions');
    await run('npx', ['tsx', 'infra/aws/app.ts'], {
      cwd: ROOT,
      env: cdkAppEnv({ regions: REGIONS.join(','), 'aws:cdk:bundling-stacks': [] }, out),
    });
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; environment?: string; properties?: { stackName?: string } }>;
    };
    // The manifest names a stack only when its name differs from its ID.
    const stackArtifacts = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack');
    expect(stackArtifacts.map(([id, a]) => [id, a.environment, a.properties?.stackName ?? id]).sort()).toEqual(
      REGIONS.map((r, i) => {
        const name = i === 0 ? STACK_NAME : regionStackId(r);
        return [name, `aws://unknown-account/${r}`, name];
      }).sort(),
    );
    const report = JSON.parse(await readFile(join(out, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });
});
