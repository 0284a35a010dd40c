/**
 * Fine-grained assertions on the synthesized template (no whole-template snapshot: asset
 * hashes change on every edit), cdk-nag's AwsSolutions pack over the stack, and the app
 * itself run the way `cdk synth` runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../functions/core/config.ts';
import { RATE_LIMIT_EXTENSION_MS } from '../../functions/core/probe.ts';
import { ACCESS_LOG_FIELDS, API_PATHS, NEW_ACCOUNT_CONCURRENCY } from '../../infra/aws/public-api.ts';
import type { DialbackStack } from '../../infra/aws/stack.ts';
import { acknowledgments } from '../support/acknowledgments.ts';
import { buildStack, cdkAppEnv } from '../support/synth.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

let outdir: string;
let counter = 0;

async function stackWith(context: Record<string, unknown> = {}): Promise<DialbackStack> {
  counter += 1;
  return buildStack({ outdir: join(outdir, String(counter)), context, bundle: false }).stack;
}

let stack: DialbackStack;
let template: Template;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'dialback-stack-'));
  stack = await stackWith();
  template = Template.fromStack(stack);
});

afterAll(async () => {
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

/** All the IAM statements of the function's role. */
function statements(t: Template): Array<{ Action: string | string[]; Resource: unknown; Effect: string }> {
  return Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      policy.Properties.PolicyDocument.Statement as Array<{
        Action: string | string[];
        Resource: unknown;
        Effect: string;
      }>,
  );
}

function logicalId(t: Template, type: string): string {
  const ids = Object.keys(t.findResources(type));
  expect(ids, type).toHaveLength(1);
  return ids[0] as string;
}

describe('the stack', () => {
  it('creates exactly the resources of DESIGN §1 and no more', () => {
    const counts: Record<string, number> = {
      'AWS::DynamoDB::Table': 1,
      'AWS::SecretsManager::Secret': 1,
      'AWS::Lambda::Function': 1,
      'AWS::IAM::Role': 1,
      'AWS::IAM::Policy': 1,
      'AWS::Logs::LogGroup': 2,
      'AWS::ApiGatewayV2::Api': 1,
      'AWS::ApiGatewayV2::Stage': 1,
      'AWS::ApiGatewayV2::Integration': 1,
      'AWS::ApiGatewayV2::Route': API_PATHS.length + 1,
      // One invoke permission per route, each scoped to its route's ARN.
      'AWS::Lambda::Permission': API_PATHS.length + 1,
      'AWS::CloudWatch::Alarm': 4,
    };
    for (const [type, count] of Object.entries(counts)) template.resourceCountIs(type, count);
    const types = new Set(
      Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type),
    );
    expect([...types].sort()).toEqual(Object.keys(counts).sort());
  });

  it('builds the counters table from the shared schema: on-demand, pk only, TTL on expiresAt, disposable', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Delete',
    });
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0];
    expect(table?.Properties).not.toHaveProperty('TableName');
  });

  it('generates the HMAC key at deploy time; no key material is in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64 },
      SecretString: Match.absent(),
    });
  });

  it('runs the function on arm64 and Node.js 22 or newer, with a timeout between the probe deadline and 30 s', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties;
    expect(fn.Architectures).toEqual(['arm64']);
    expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    expect(fn.Handler).toBe('index.handler');
    expect(fn.MemorySize).toBe(256);
    expect(fn.Timeout * 1000).toBeGreaterThan(3000);
    expect(fn.Timeout).toBeLessThan(30);
    expect(fn).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(fn).not.toHaveProperty('FunctionName');
  });

  it('keeps the timeout under 30 s even at the largest probe deadline', async () => {
    const t = Template.fromStack(await stackWith({ probeTimeoutMs: '20000' }));
    const fn = Object.values(t.findResources('AWS::Lambda::Function'))[0]?.Properties;
    expect(fn.Timeout * 1000).toBeGreaterThan(20_000);
    expect(fn.Timeout).toBeLessThan(30);
  });

  it('logs as JSON into its own log group with retention', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function')];
    expect(fn?.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } });
    // The group it names is a log group of this stack, and it is the one with the retention.
    const group = template.findResources('AWS::Logs::LogGroup')[fn?.Properties.LoggingConfig.LogGroup.Ref];
    expect(group?.Properties.RetentionInDays).toBe(30);
    const retentions = Object.values(template.findResources('AWS::Logs::LogGroup')).map(
      (g) => g.Properties.RetentionInDays,
    );
    expect(retentions).toEqual([30, 30]);
  });

  it('sets log retention from context', async () => {
    const t = Template.fromStack(await stackWith({ logRetentionDays: '90' }));
    const retentions = Object.values(t.findResources('AWS::Logs::LogGroup')).map((g) => g.Properties.RetentionInDays);
    expect(retentions).toEqual([90, 90]);
  });

  it('gives the function the DESIGN §5 settings and nothing that could allow non-public targets', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties;
    const env = fn.Environment.Variables as Record<string, unknown>;
    expect(env).toEqual({
      TABLE_NAME: { Ref: logicalId(template, 'AWS::DynamoDB::Table') },
      RATE_LIMIT_PER_MINUTE: '30',
      RATE_LIMIT_PER_DAY: '500',
      MAX_PORTS: '10',
      PROBE_TIMEOUT_MS: '3000',
      CORS_ALLOW_ORIGINS: '*',
      RATE_LIMIT_KEY_SECRET_ARN: { Ref: logicalId(template, 'AWS::SecretsManager::Secret') },
      IPV6_EGRESS: 'false',
      API_URL_IPV4: { 'Fn::GetAtt': [logicalId(template, 'AWS::ApiGatewayV2::Api'), 'ApiEndpoint'] },
    });
    // toEqual above already shuts out any other variable; a literal key is the one worth naming.
    expect(env).not.toHaveProperty('RATE_LIMIT_KEY');
  });

  it('grants exactly UpdateItem on the table, GetSecretValue on the key and writes to its own log group', () => {
    expect(statements(template)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ApiFunctionLogs/), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: { 'Fn::GetAtt': [logicalId(template, 'AWS::DynamoDB::Table'), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: logicalId(template, 'AWS::SecretsManager::Secret') },
      },
    ]);
  });

  it('uses no wildcard action or resource and no managed policy', () => {
    const json = JSON.stringify(statements(template));
    expect(json).not.toContain('*');
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('routes every DESIGN §3 path, for every method, and everything else to the one function', () => {
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routeKeys.sort()).toEqual(['$default', ...API_PATHS.map((p) => `ANY ${p}`)].sort());
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('lets the function answer CORS preflights (no API-level CORS) and serves IPv4 callers only', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
      IpAddressType: 'ipv4',
    });
  });

  it('runs the function outside any VPC by default, told it cannot dial IPv6 and has no fixed source', () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties;
    expect(fn).not.toHaveProperty('VpcConfig');
    expect(fn.Environment.Variables.IPV6_EGRESS).toBe('false');
    expect(fn.Environment.Variables).not.toHaveProperty('EGRESS_ADDRESSES');
    const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('AWS::EC2::'))).toEqual([]);
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('EgressIpv4Address');
  });

  it('serves the $default stage, throttled to what a new account’s concurrency can run', () => {
    // 10 executions, each held up to the deadline plus the rate-limit extension: 10 / 7 s.
    const longestCheckSeconds = (CONFIG_DEFAULTS.probeTimeoutMs + RATE_LIMIT_EXTENSION_MS) / 1000;
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: Math.floor(NEW_ACCOUNT_CONCURRENCY / longestCheckSeconds),
        ThrottlingBurstLimit: NEW_ACCOUNT_CONCURRENCY,
      },
    });
    expect(Math.floor(NEW_ACCOUNT_CONCURRENCY / longestCheckSeconds)).toBe(1);
  });

  it('derives the throttle from reserved concurrency, shared by both APIs in vpc mode', async () => {
    const longestCheckSeconds = (CONFIG_DEFAULTS.probeTimeoutMs + RATE_LIMIT_EXTENSION_MS) / 1000;
    const one = Template.fromStack(await stackWith({ reservedConcurrency: '100' }));
    one.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: Math.floor(100 / longestCheckSeconds), ThrottlingBurstLimit: 100 },
    });
    const two = Template.fromStack(await stackWith({ reservedConcurrency: '100', egress: 'vpc' }));
    for (const stage of Object.values(two.findResources('AWS::ApiGatewayV2::Stage'))) {
      expect(stage.Properties.DefaultRouteSettings).toMatchObject({
        ThrottlingRateLimit: Math.floor(50 / longestCheckSeconds),
        ThrottlingBurstLimit: 50,
      });
    }
  });

  it('sets throttling from context', async () => {
    const t = Template.fromStack(await stackWith({ throttleRate: '5', throttleBurst: '7' }));
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 },
    });
  });

  it('writes JSON access logs without the caller address', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0]?.Properties;
    const format = stage.AccessLogSettings.Format as string;
    expect(JSON.parse(format)).toEqual(ACCESS_LOG_FIELDS);
    expect(format).toContain('$context.requestId');
    expect(format).not.toContain('sourceIp');
    expect(format).not.toContain('$context.identity');
    expect(format).not.toContain('userAgent');
    // The route key, not the path: `/check/22` would log the caller's port.
    expect(JSON.parse(format)).toMatchObject({ routeKey: '$context.routeKey' });
    expect(format).not.toMatch(/\$context\.(path|resourcePath)|rawPath|querystring/i);
    expect(stage.AccessLogSettings.DestinationArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^ApiAccessLogs/), 'Arn'],
    });
  });

  it('alarms on function errors and throttles, API 5xx and p99 latency, with no action by default', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.map((a) => `${a.Namespace}/${a.MetricName}`).sort()).toEqual([
      'AWS/ApiGateway/5xx',
      'AWS/ApiGateway/Latency',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Throttles',
    ]);
    expect(alarms.find((a) => a.MetricName === 'Latency')?.ExtendedStatistic).toBe('p99');
    for (const alarm of alarms) expect(alarm).not.toHaveProperty('AlarmActions');
  });

  it('subscribes an e-mail address to the alarms when one is given', async () => {
    const t = Template.fromStack(await stackWith({ alarmEmail: 'ops@example.com' }));
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const topic = logicalId(t, 'AWS::SNS::Topic');
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
    }
    // The topic refuses unencrypted publishing (what CloudWatch may publish: endpoints.test.ts).
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('reserves concurrency only when asked', async () => {
    const t = Template.fromStack(await stackWith({ reservedConcurrency: '8' }));
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 8 });
  });

  it('outputs the API URL, the region and the table name, and pins the region', async () => {
    const t = Template.fromStack(await stackWith({ region: 'eu-central-1' }));
    t.hasOutput('ApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://'])] } });
    t.hasOutput('Region', { Value: 'eu-central-1' });
    t.hasOutput('TableName', { Value: { Ref: logicalId(t, 'AWS::DynamoDB::Table') } });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['defaults', {}],
    ['every option set', { alarmEmail: 'ops@example.com', reservedConcurrency: '5', corsOrigins: 'https://a.example' }],
    ['egress=vpc', { egress: 'vpc' }],
    ['egress=vpc and every option set', { egress: 'vpc', alarmEmail: 'ops@example.com', reservedConcurrency: '5' }],
  ])('reports no unacknowledged finding with %s', async (_name, context) => {
    const s = await stackWith(context);
    const report = new AwsSolutionsChecks().validateScope(s);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges only the three findings the design accepts, each with a reason', () => {
    const acks = acknowledgments(stack);
    expect(acks.map((a) => `${a.path} ${a.id}`).sort()).toEqual([
      'Dialback/HttpApi AwsSolutions-APIG4',
      'Dialback/RateLimitKey AwsSolutions-SMG4',
      'Dialback/RateLimits AwsSolutions-DDB3',
    ]);
    for (const ack of acks) expect(ack.reason.length, ack.id).toBeGreaterThan(60);
  });

  it('scopes each acknowledgment to its own construct: the same finding elsewhere is reported', async () => {
    const s = await stackWith();
    new Table(s, 'Extra', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const violations = new AwsSolutionsChecks().validateScope(s).violations;
    expect(violations.map((v) => [v.ruleName, v.violatingResources.map((r) => r.constructPath)])).toEqual([
      ['AwsSolutions-DDB3', ['Dialback/Extra/Resource']],
    ]);
  });
});

/** How long one `cdk synth` of the app may take on a busy 2-core machine. */
const SYNTH_TIMEOUT_MS = 180_000;

describe('the CDK app (what `cdk synth` runs)', () => {
  const env = (context: Record<string, unknown>, out: string) =>
    cdkAppEnv({ ...context, 'aws:cdk:bundling-stacks': [] }, out);

  it.each(['default', 'vpc'])(
    'synthesizes egress=%s with cdk-nag applied and writes a clean validation report',
    async (egress) => {
      const out = join(outdir, `app-ok-${egress}`);
      await run('npx', ['tsx', 'infra/aws/app.ts'], { cwd: ROOT, env: env({ region: 'eu-west-1', egress }, out) });
      const template = JSON.parse(await readFile(join(out, 'Dialback.template.json'), 'utf8'));
      expect(template.Outputs.Region.Value).toBe('eu-west-1');
      expect('EgressIpv4Address' in template.Outputs).toBe(egress === 'vpc');
      const report = JSON.parse(await readFile(join(out, 'validation-report.json'), 'utf8'));
      expect(report.pluginReports).toEqual([]);
      // A synth is a TypeScript compile and a whole app in a child process: beside three lab
      // loops (load 17) one took over the default 60 s.
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'fails synth on a bad context value with a message naming it',
    async () => {
      const out = join(outdir, 'app-bad');
      const failure = await run('npx', ['tsx', 'infra/aws/app.ts'], {
        cwd: ROOT,
        env: env({ ratePerMinute: 'lots' }, out),
      }).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure?.code).not.toBe(0);
      expect(failure?.stderr).toContain('context ratePerMinute must be a whole number');
      expect(failure?.stderr).toContain('"lots"');
    },
    SYNTH_TIMEOUT_MS,
  );
});
