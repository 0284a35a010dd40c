/**
 * Dialback in one stack, read top to bottom like DESIGN §1: the counters table, the HMAC key,
 * with `egress=vpc` the network probes leave through (egress.ts), the function that dials back
 * (api-function.ts),
 * the HTTP APIs in front of it (public-api.ts: IPv4-only, plus dual-stack with `egress=vpc`),
 * alarms, outputs. Everything is pinned to one region, the region checks dial out from.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { formatRegions, REGIONS_VARIABLE, type RegionApi } from '../../functions/core/config.ts';
import { RATE_LIMIT_EXTENSION_MS } from '../../functions/core/pacing.ts';
import { COUNTER_TABLE_SCHEMA } from '../../functions/core/table-schema.ts';
import { apiFunction } from './api-function.ts';
import { VpcEgress } from './egress.ts';
import {
  API_ID_SUFFIXES,
  API_LABELS,
  API_URL_DESCRIPTIONS,
  API_URL_VARIABLES,
  type PublicApi,
  publicApi,
  stageThrottle,
} from './public-api.ts';
import type { DialbackSettings } from './settings.ts';

/**
 * What one request may spend besides the probe itself: the first read of the key (bounded at
 * 2 s in secret-key.ts), then the limiter's table conversation (2 s in rate-limiter.ts) and the
 * response margin the handler keeps (0.5 s), rounded up.
 */
const REQUEST_OVERHEAD_MS = 5000;

/** API Gateway answers 503 itself after 30 s; the function must be done well before. */
const API_GATEWAY_LIMIT_SECONDS = 30;

/**
 * How far past the longest healthy check p99 latency may go before the latency alarm fires: room
 * for a cold start (init plus the key's first read) on top of a check that waited out the whole
 * deadline and extension. Far below REQUEST_OVERHEAD_MS, so the alarm fires seconds before
 * requests time out.
 */
const LATENCY_ALARM_MARGIN_MS = 1500;

/** Props of the stack: the validated settings plus the usual stack props. */
export interface DialbackStackProps extends StackProps {
  /** The deploy-time settings (`readSettings` in settings.ts validates and defaults them). */
  readonly settings: DialbackSettings;
  /**
   * The other regions of a multi-region deployment, given to the primary only (regions.ts):
   * its function lists them after itself at `GET /regions`. Their URLs are tokens of the other
   * stacks, which CDK turns into cross-region references.
   * @default - none: `/regions` lists this stack alone
   */
  readonly otherRegions?: readonly RegionApi[];
}

/**
 * The alarms' SNS topic, e-mailing `email`. `enforceSSL` writes a topic policy that replaces
 * SNS's default one, so CloudWatch may publish only if that policy says so: it allows
 * `cloudwatch.amazonaws.com` for alarms of this account and region only (the confused-deputy
 * guard), beside the Deny of unencrypted publishing.
 */
function alarmTopic(stack: Stack, email: string): Topic {
  const topic = new Topic(stack, 'AlarmTopic', { displayName: 'Dialback alarms', enforceSSL: true });
  topic.addSubscription(new EmailSubscription(email));
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchAlarmsOfThisAccount',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
      },
    }),
  );
  return topic;
}

/** The counters table: a string partition key and TTL, from the schema the local server uses too. */
function counterTable(stack: Stack): Table {
  const table = new Table(stack, 'RateLimits', {
    partitionKey: { name: COUNTER_TABLE_SCHEMA.partitionKey.name, type: AttributeType.STRING },
    timeToLiveAttribute: COUNTER_TABLE_SCHEMA.timeToLiveAttribute,
    billingMode: BillingMode.PAY_PER_REQUEST,
    // The table holds only rate-limit counters that expire within a day; nothing in it is
    // worth keeping after the stack is gone, and a retained table would outlive `npm run destroy`.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  Validations.of(table).acknowledge({
    id: 'AwsSolutions-DDB3',
    reason:
      "Point-in-time recovery would restore rate-limit counters that expire within a day; losing them only resets callers' budgets early.",
  });
  return table;
}

/**
 * The HMAC key for caller hashes, generated by Secrets Manager at deploy time: never in the repo,
 * the template or an environment variable value (only the secret's ARN is).
 */
function rateLimitKey(stack: Stack): Secret {
  const key = new Secret(stack, 'RateLimitKey', {
    description: 'Dialback: HMAC key that hashes caller addresses into rate-limit counter keys',
    generateSecretString: { passwordLength: 64, excludePunctuation: true },
  });
  Validations.of(key).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      "The key only hashes addresses into counter keys that live at most a day; rotating it would need a rotation function and would reset every caller's budget. Replace the secret if it is ever exposed.",
  });
  return key;
}

/**
 * The function's role: a role of our own instead of the managed AWSLambdaBasicExecutionRole,
 * whose log permissions cover every log group in the account.
 */
function functionRole(stack: Stack, logs: LogGroup, table: Table, key: Secret): Role {
  const role = new Role(stack, 'ApiFunctionRole', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: 'Dialback API function: write its own logs, update its counters, read its key',
  });
  role.addToPolicy(
    new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logs.logGroupArn] }),
  );
  // The limiter's only table call: one conditional UpdateItem per check, both windows at once.
  table.grant(role, 'dynamodb:UpdateItem');
  role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [key.secretArn] }));
  return role;
}

/** How long a check may take, and so the function's timeout and the latency alarm's threshold. */
interface CheckTiming {
  /**
   * The longest check a healthy deployment gives: every port waits out the deadline, and a host
   * that rate-limits its ICMP errors is asked for up to RATE_LIMIT_EXTENSION_MS more (pacing.ts).
   */
  readonly longestCheckMs: number;
  readonly timeoutSeconds: number;
  /**
   * A check legitimately lasts up to the longest check, plus a cold start now and then; beyond
   * that something is slow that should not be. The threshold stays well under the timeout, so
   * the alarm fires while requests still get answers.
   */
  readonly latencyThresholdMs: number;
}

/** The timing of `probeTimeoutMs`, refusing one that leaves no room under API Gateway's limit. */
function checkTiming(probeTimeoutMs: number): CheckTiming {
  const longestCheckMs = probeTimeoutMs + RATE_LIMIT_EXTENSION_MS;
  const timeoutSeconds = Math.ceil((longestCheckMs + REQUEST_OVERHEAD_MS) / 1000);
  if (timeoutSeconds >= API_GATEWAY_LIMIT_SECONDS) {
    throw new Error(
      `probeTimeoutMs=${probeTimeoutMs} leaves no room under API Gateway's ${API_GATEWAY_LIMIT_SECONDS} s limit`,
    );
  }
  const latencyThresholdMs = longestCheckMs + LATENCY_ALARM_MARGIN_MS;
  if (latencyThresholdMs > timeoutSeconds * 1000 - LATENCY_ALARM_MARGIN_MS) {
    throw new Error(
      `the latency alarm (${latencyThresholdMs} ms) would sit too close to the ${timeoutSeconds} s timeout`,
    );
  }
  return { longestCheckMs, timeoutSeconds, latencyThresholdMs };
}

/**
 * The alarms, e-mailed when `alarmEmail` is set. A 503 from a sick table is a 5xx, so the 5xx
 * alarm also catches the limiter failing closed.
 */
function alarms(
  stack: Stack,
  fn: NodejsFunction,
  apis: readonly PublicApi[],
  timing: CheckTiming,
  email: string | undefined,
): void {
  const topic = email === undefined ? undefined : alarmTopic(stack, email);
  const alarm = (id: string, metric: IMetric, threshold: number, description: string): void => {
    const created = new Alarm(stack, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (topic !== undefined) created.addAlarmAction(new SnsAction(topic));
  };
  const fiveMinutes = Duration.minutes(5);
  alarm(
    'FunctionErrorsAlarm',
    fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
    1,
    'The function crashed or timed out (answered errors are responses, not Lambda errors).',
  );
  alarm(
    'FunctionThrottlesAlarm',
    fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
    1,
    'Lambda refused invocations: the account or reserved concurrency is exhausted.',
  );
  for (const { kind, httpApi } of apis) {
    const suffix = API_ID_SUFFIXES[kind];
    alarm(
      `Api5xxAlarm${suffix}`,
      httpApi.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      5,
      `The ${API_LABELS[kind]} API answered 5xx: the rate-limit table or the key is unreachable, or the function failed.`,
    );
    alarm(
      `ApiLatencyP99Alarm${suffix}`,
      httpApi.metricLatency({ period: fiveMinutes, statistic: 'p99' }),
      timing.latencyThresholdMs,
      `p99 latency of the ${API_LABELS[kind]} API exceeds the longest healthy check (deadline plus rate-limit extension, ${timing.longestCheckMs} ms) plus ${LATENCY_ALARM_MARGIN_MS} ms (the timeout is ${timing.timeoutSeconds} s).`,
    );
  }
}

/** The stack's outputs: the API URLs, region, table and, with `vpc` egress, the probes' source addresses. */
function outputs(stack: Stack, apis: readonly PublicApi[], table: Table, egress: VpcEgress | undefined): void {
  for (const { kind, stage } of apis) {
    new CfnOutput(stack, `ApiUrl${API_ID_SUFFIXES[kind]}`, {
      value: stage.url,
      description: API_URL_DESCRIPTIONS[kind],
    });
  }
  new CfnOutput(stack, 'Region', { value: stack.region, description: 'Region the checks dial out from' });
  new CfnOutput(stack, 'TableName', { value: table.tableName, description: 'Rate-limit counters table' });
  if (egress !== undefined) {
    new CfnOutput(stack, 'EgressIpv4Address', {
      value: egress.ipv4Address,
      description: 'Every IPv4 check comes from this address (allowlist it)',
    });
    new CfnOutput(stack, 'EgressIpv6Range', {
      value: egress.ipv6Range,
      description: 'Every IPv6 check comes from inside this /56 (allowlist it)',
    });
  }
}

/** The whole service: table, key, function, APIs, alarms and outputs. */
export class DialbackStack extends Stack {
  /** The function that dials back; exposed for tests. */
  readonly api: NodejsFunction;
  /** Base URL of the IPv4-only API, the one every deployment has: what `/regions` names. */
  readonly apiUrl: string;

  constructor(scope: Construct, id: string, props: DialbackStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const table = counterTable(this);
    const key = rateLimitKey(this);

    // The function's own log group, so retention is set and nothing else writes there.
    // RetentionDays' members are the day counts themselves, and readSettings admits only those.
    const retention = settings.logRetentionDays as RetentionDays;
    const logGroup = new LogGroup(this, 'ApiFunctionLogs', {
      retention,
      // Logs age out by retention anyway; `npm run destroy` should leave nothing behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = functionRole(this, logGroup, table, key);

    // `vpc` egress: the network the probes leave through (egress.ts); `default` has none.
    const egress =
      settings.egress === 'vpc'
        ? new VpcEgress(this, 'Egress', {
            role,
            ...(settings.azs === undefined ? {} : { availabilityZones: settings.azs }),
          })
        : undefined;

    const timing = checkTiming(settings.probeTimeoutMs);
    this.api = apiFunction(this, {
      settings,
      role,
      logGroup,
      table,
      key,
      egress,
      timeoutSeconds: timing.timeoutSeconds,
    });
    egress?.attach(this.api);

    // The public HTTP APIs (payload v2). A check dials the family the caller arrived over, so an
    // API may admit IPv6 callers only where the function can dial IPv6 (DESIGN §1): `default`
    // serves one IPv4-only API, so every caller, dual-stack browsers included, gets a real IPv4
    // check; `vpc` adds a dual-stack API on the same function, through which a caller with IPv6
    // arrives over IPv6, so a page can check both families side by side.
    const throttle = stageThrottle(settings, egress === undefined ? 1 : 2);
    const ipv4Api = publicApi(this, 'ipv4', this.api, throttle, retention);
    const apis: PublicApi[] = [ipv4Api];
    if (egress !== undefined) apis.push(publicApi(this, 'dualStack', this.api, throttle, retention));
    // The function learns both base URLs so `/ip` can name them. It references the APIs, never
    // the reverse (an API resource does not name its integration's function; the integrations,
    // routes and permissions reference both), so the template has no reference cycle.
    for (const api of apis) this.api.addEnvironment(API_URL_VARIABLES[api.kind], api.httpApi.apiEndpoint);
    this.apiUrl = ipv4Api.httpApi.apiEndpoint;
    // The primary of several regions lists them all, itself first (functions/core/config.ts parses it).
    if (props.otherRegions !== undefined) {
      this.api.addEnvironment(
        REGIONS_VARIABLE,
        formatRegions([{ name: this.region, api: this.apiUrl }, ...props.otherRegions]),
      );
    }

    alarms(this, this.api, apis, timing, settings.alarmEmail);
    outputs(this, apis, table, egress);
  }
}
