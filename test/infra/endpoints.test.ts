/**
 * What the deployed service promises, read from the synthesized template of each egress
 * mode: which HTTP APIs exist and whom they admit, what the function is told about them, the
 * outputs, where access logs go, whether alarm e-mails can arrive, and when the latency alarm
 * fires. Each mode is synthesized without bundling, with an alarm address so the topic exists.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';
import { RATE_LIMIT_EXTENSION_MS } from '../../functions/core/pacing.ts';
import { API_PATHS } from '../../infra/aws/public-api.ts';
import type { DialbackStack } from '../../infra/aws/stack.ts';
import { acknowledgments } from '../support/acknowledgments.ts';
import { bundleEnvironment, HARNESS } from '../support/bundle-harness.ts';
import { buildStack } from '../support/synth.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, Resource>;

let outdir: string;
let counter = 0;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'dialback-endpoints-'));
});

afterAll(async () => {
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

function synth(context: Record<string, unknown>): { stack: DialbackStack; template: Template; resources: Resources } {
  counter += 1;
  const { stack } = buildStack({ outdir: join(outdir, String(counter)), context, bundle: false });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Resources };
}

/** Logical IDs of the resources of `type` for which `where` holds, sorted. */
function idsOf(resources: Resources, type: string, where: (r: Resource) => boolean = () => true): string[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type && where(r))
    .map(([id]) => id)
    .sort();
}

/** Whether `value` refers to `id` anywhere (`Ref`, `Fn::GetAtt`). */
function mentions(value: unknown, id: string): boolean {
  return references(value).has(id);
}

/** Every logical ID `value` refers to through `Ref` or `Fn::GetAtt`. */
function references(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner)) found.add(String(inner[0]));
      else references(inner, found);
    }
  }
  return found;
}

/** Replaces the pseudo parameters and `Fn::Join`s of a policy condition by stand-in values. */
function resolvePseudo(value: unknown): unknown {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': '111122223333',
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (Array.isArray(value)) return value.map(resolvePseudo);
  if (value === null || typeof value !== 'object') return value;
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === 'string' && node.Ref in pseudo) return pseudo[node.Ref];
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolvePseudo(p))).join(separator);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolvePseudo(v)]));
}

const ALARM_EMAIL = 'ops@example.com';

describe.each(['default', 'vpc'] as const)('egress=%s', (egress) => {
  const vpc = egress === 'vpc';
  let stack: DialbackStack;
  let template: Template;
  let resources: Resources;
  /** The IPv4-only API's logical ID, and the dual-stack API's (undefined in `default`). */
  let ipv4Api: string;
  let dualStackApi: string | undefined;

  beforeAll(() => {
    ({ stack, template, resources } = synth({ egress, alarmEmail: ALARM_EMAIL }));
    const byType = (type: string) =>
      idsOf(resources, 'AWS::ApiGatewayV2::Api', (r) => r.Properties?.IpAddressType === type);
    [ipv4Api = ''] = byType('ipv4');
    [dualStackApi] = byType('dualstack');
  });

  it(vpc ? 'serves an IPv4-only API and a dual-stack API' : 'serves one IPv4-only API and no dual-stack API', () => {
    const types = idsOf(resources, 'AWS::ApiGatewayV2::Api').map((id) => resources[id]?.Properties?.IpAddressType);
    expect(types.sort()).toEqual(vpc ? ['dualstack', 'ipv4'] : ['ipv4']);
    expect(ipv4Api).not.toBe('');
  });

  it('routes every path of each API, and everything else, to the one function through its own integration', () => {
    const fn = idsOf(resources, 'AWS::Lambda::Function');
    expect(fn).toHaveLength(1);
    for (const api of [ipv4Api, dualStackApi].filter((a) => a !== undefined)) {
      const onApi = (r: Resource) => mentions(r.Properties?.ApiId, api);
      const routes = idsOf(resources, 'AWS::ApiGatewayV2::Route', onApi);
      expect(routes.map((id) => resources[id]?.Properties?.RouteKey).sort(), api).toEqual(
        ['$default', ...API_PATHS.map((p) => `ANY ${p}`)].sort(),
      );
      const integrations = idsOf(resources, 'AWS::ApiGatewayV2::Integration', onApi);
      expect(integrations, api).toHaveLength(1);
      expect(mentions(resources[integrations[0] as string]?.Properties?.IntegrationUri, fn[0] as string)).toBe(true);
      for (const route of routes) {
        expect(resources[route]?.Properties?.Target, route).toEqual({
          'Fn::Join': ['', ['integrations/', { Ref: integrations[0] }]],
        });
      }
    }
  });

  it(
    vpc
      ? "tells the function both APIs' base URLs, the dual-stack one beside its IPv6 egress"
      : "tells the function the IPv4-only API's base URL and no dual-stack one",
    () => {
      const fn = resources[idsOf(resources, 'AWS::Lambda::Function')[0] as string];
      const env = (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.API_URL_IPV4).toEqual({ 'Fn::GetAtt': [ipv4Api, 'ApiEndpoint'] });
      if (dualStackApi === undefined) expect(env).not.toHaveProperty('API_URL_DUAL_STACK');
      else expect(env.API_URL_DUAL_STACK).toEqual({ 'Fn::GetAtt': [dualStackApi, 'ApiEndpoint'] });
      expect(env.IPV6_EGRESS).toBe(vpc ? 'true' : 'false');
      // The function names the APIs, never the reverse: Template.fromStack (in beforeAll) refuses
      // a template with a dependency cycle. What the handler reads once CloudFormation fills in:
      expect(loadConfig(bundleEnvironment(template)).endpoints).toEqual({
        ipv4: HARNESS.apiUrls.API_URL_IPV4,
        dualStack: vpc ? HARNESS.apiUrls.API_URL_DUAL_STACK : null,
      });
    },
  );

  it(
    vpc ? 'outputs ApiUrl (IPv4-only) and ApiUrlDualStack' : 'outputs ApiUrl (IPv4-only) and no ApiUrlDualStack',
    () => {
      const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(mentions(outputs.ApiUrl?.Value, ipv4Api)).toBe(true);
      expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain('https://');
      if (dualStackApi === undefined) {
        expect(outputs).not.toHaveProperty('ApiUrlDualStack');
      } else {
        expect(mentions(outputs.ApiUrlDualStack?.Value, dualStackApi)).toBe(true);
        expect(mentions(outputs.ApiUrlDualStack?.Value, ipv4Api)).toBe(false);
      }
    },
  );

  it("writes each API's access log to a group of its own under /aws/vendedlogs/, named after the stack", () => {
    const stages = idsOf(resources, 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(vpc ? 2 : 1);
    const names = stages.map((id) => {
      const settings = resources[id]?.Properties?.AccessLogSettings as { DestinationArn: unknown };
      const [group] = [...references(settings.DestinationArn)];
      expect(resources[group as string]?.Type, id).toBe('AWS::Logs::LogGroup');
      return resources[group as string]?.Properties?.LogGroupName as string;
    });
    for (const name of names) expect(name).toMatch(new RegExp(`^/aws/vendedlogs/${stack.stackName}/`));
    expect(new Set(names).size).toBe(names.length);
  });

  it('lets CloudWatch alarms of this account publish to the topic and still denies unencrypted publishing', () => {
    const [topic] = idsOf(resources, 'AWS::SNS::Topic');
    const policies = idsOf(resources, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    const policy = resources[policies[0] as string]?.Properties as {
      Topics: unknown[];
      PolicyDocument: { Statement: Array<Record<string, unknown>> };
    };
    expect(policy.Topics).toEqual([{ Ref: topic }]);
    const statements = policy.PolicyDocument.Statement;
    expect(statements.filter((s) => s.Effect === 'Deny')).toEqual([
      expect.objectContaining({ Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(resolvePseudo(allows[0])).toEqual({
      Sid: 'AllowCloudWatchAlarmsOfThisAccount',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: topic },
      Condition: {
        StringEquals: { 'aws:SourceAccount': '111122223333' },
        ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:us-east-1:111122223333:alarm:*' },
      },
    });
    for (const id of idsOf(resources, 'AWS::CloudWatch::Alarm')) {
      expect(resources[id]?.Properties?.AlarmActions, id).toEqual([{ Ref: topic }]);
    }
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: ALARM_EMAIL });
  });

  it.each([
    ['the default probe deadline', 3000],
    ['the largest probe deadline', 20_000],
  ])('alarms on each API’s p99 latency above the longest healthy check and well below the timeout, at %s', (_name, probeTimeoutMs) => {
    const built =
      probeTimeoutMs === 3000 ? resources : synth({ egress, probeTimeoutMs: String(probeTimeoutMs) }).resources;
    const fn = built[idsOf(built, 'AWS::Lambda::Function')[0] as string];
    const timeoutMs = Number(fn?.Properties?.Timeout) * 1000;
    const latency = idsOf(built, 'AWS::CloudWatch::Alarm', (r) => r.Properties?.MetricName === 'Latency');
    const apis = idsOf(built, 'AWS::ApiGatewayV2::Api');
    expect(latency).toHaveLength(apis.length);
    const watched = latency.map((id) => {
      const alarm = built[id]?.Properties as Record<string, unknown>;
      expect(alarm.ExtendedStatistic).toBe('p99');
      // A healthy check can last the deadline plus the rate-limit extension: it must not fire on that.
      expect(alarm.Threshold as number).toBeGreaterThan(probeTimeoutMs + RATE_LIMIT_EXTENSION_MS);
      // "Well below": at least a second and a half before the function would time out.
      expect(alarm.Threshold as number).toBeLessThanOrEqual(timeoutMs - 1500);
      return [...references(alarm.Dimensions)];
    });
    expect(watched.flat().sort()).toEqual(apis);
  });

  it('alarms on 5xx of each API', () => {
    const errors = idsOf(resources, 'AWS::CloudWatch::Alarm', (r) => r.Properties?.MetricName === '5xx');
    const watched = errors.flatMap((id) => [...references(resources[id]?.Properties?.Dimensions)]);
    expect(watched.sort()).toEqual(idsOf(resources, 'AWS::ApiGatewayV2::Api'));
  });

  it('passes cdk-nag, acknowledging only the unauthenticated API on each API', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    const apiAcks = acknowledgments(stack).filter((a) => a.id === 'AwsSolutions-APIG4');
    expect(apiAcks.map((a) => a.path).sort()).toEqual(
      vpc ? ['Dialback/HttpApi', 'Dialback/HttpApiDualStack'] : ['Dialback/HttpApi'],
    );
  });
});
