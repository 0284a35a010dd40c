/**
 * One public HTTP API in front of the function: routes, `$default` stage with
 * throttling and access logs. The stack builds one IPv4-only API in every egress mode and, with
 * `egress=vpc`, a dual-stack one beside it on the same function.
 */
import { RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, IpAddressType, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ROUTES } from '../../functions/api/routes.ts';
import { RATE_LIMIT_EXTENSION_MS } from '../../functions/core/pacing.ts';
import type { DialbackSettings } from './settings.ts';

/**
 * The function's routes, each routed to it for every method: taken from the router itself, so a
 * route added there is never one that only `$default` happens to catch.
 */
export const API_PATHS: readonly string[] = ROUTES.map((route) => route.name);

/**
 * The access-log record. It names the request, the route and the outcome and nothing that
 * identifies the caller: no `$context.identity.sourceIp` (DESIGN §4.3: no raw address in any
 * log), no user agent. API Gateway's predefined formats all carry the source IP. The route key
 * (`ANY /check/{port}`) stands for the path: `$context.path` would record `/check/22`, the
 * caller's port, which the function's own log line leaves out too.
 */
export const ACCESS_LOG_FIELDS = Object.freeze({
  requestId: '$context.requestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
});

/** Which callers an API admits: IPv4 only, or IPv4 and IPv6. */
export type ApiKind = 'ipv4' | 'dualStack';

/** The function variable that carries each API's base URL (functions/core/config.ts reads them). */
export const API_URL_VARIABLES = Object.freeze({
  ipv4: 'API_URL_IPV4',
  dualStack: 'API_URL_DUAL_STACK',
}) satisfies Record<ApiKind, string>;

/**
 * Appended to the construct IDs of each kind's resources and outputs. The IPv4-only API keeps
 * the IDs the single API always had, so a deployed stack updates it in place.
 */
export const API_ID_SUFFIXES = Object.freeze({ ipv4: '', dualStack: 'DualStack' }) satisfies Record<ApiKind, string>;

/** How each kind is named in descriptions and alarm texts. */
export const API_LABELS = Object.freeze({ ipv4: 'IPv4-only', dualStack: 'dual-stack' }) satisfies Record<
  ApiKind,
  string
>;

/** What each kind's URL output says to the deployer. */
export const API_URL_DESCRIPTIONS = Object.freeze({
  ipv4: 'Base URL of the IPv4-only API: every check through it dials IPv4; try GET /check/443',
  dualStack: 'Base URL of the dual-stack API: a caller with IPv6 arrives, and is checked, over IPv6',
}) satisfies Record<ApiKind, string>;

/** One API as built: the kind, the API and its `$default` stage. */
export interface PublicApi {
  readonly kind: ApiKind;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
}

/**
 * The access-log group's name: under `/aws/vendedlogs/`, which API Gateway writes to without
 * adding a statement to the account's CloudWatch Logs resource policy. Outside it every deploy
 * adds one to that 5,120-character policy and nothing removes them on delete, until a later
 * stage fails with "Cannot enable logging. Policy document length…". Named after the stack so
 * two stacks in one account and region never collide.
 */
export function accessLogGroupName(stackName: string, kind: ApiKind): string {
  return `/aws/vendedlogs/${stackName}/http-api-${kind === 'ipv4' ? 'ipv4' : 'dual-stack'}-access`;
}

/** Concurrent executions a new account may run; the default when none is reserved. */
export const NEW_ACCOUNT_CONCURRENCY = 10;

/** One API stage's throttle: steady requests per second and burst. */
export interface StageThrottle {
  readonly rate: number;
  readonly burst: number;
}

/**
 * Each API's stage throttle, so API Gateway answers 429 before Lambda runs out of executions
 * (which callers would see as a bare 5xx): the concurrency, shared by the APIs, over the longest
 * legitimate check (the probe deadline plus `RATE_LIMIT_EXTENSION_MS`). A setting given wins.
 */
export function stageThrottle(
  settings: Pick<DialbackSettings, 'throttleRate' | 'throttleBurst' | 'reservedConcurrency' | 'probeTimeoutMs'>,
  apiCount: number,
): StageThrottle {
  const perApi = (settings.reservedConcurrency ?? NEW_ACCOUNT_CONCURRENCY) / apiCount;
  const longestCheckSeconds = (settings.probeTimeoutMs + RATE_LIMIT_EXTENSION_MS) / 1000;
  return {
    rate: settings.throttleRate ?? Math.max(1, Math.floor(perApi / longestCheckSeconds)),
    burst: settings.throttleBurst ?? Math.max(1, Math.floor(perApi)),
  };
}

/** Builds one public API of `kind` in `stack`, every route and the `$default` stage on `fn`. */
export function publicApi(
  stack: Stack,
  kind: ApiKind,
  fn: IFunction,
  throttle: StageThrottle,
  retention: RetentionDays,
): PublicApi {
  const suffix = API_ID_SUFFIXES[kind];
  // One integration per API: CDK binds an integration to the API of its first route.
  const integration = new HttpLambdaIntegration(`ApiIntegration${suffix}`, fn);
  const httpApi = new HttpApi(stack, `HttpApi${suffix}`, {
    apiName: kind === 'ipv4' ? stack.stackName : `${stack.stackName}-dual-stack`,
    description: `Dialback: external TCP and UDP port checker (${API_LABELS[kind]})`,
    ipAddressType: kind === 'ipv4' ? IpAddressType.IPV4 : IpAddressType.DUAL_STACK,
    createDefaultStage: false,
    // No corsPreflight: API Gateway would answer OPTIONS itself from a second copy of the
    // origins list. Preflights reach the function, which answers them from
    // CORS_ALLOW_ORIGINS exactly as the local server does.
    // Unmatched paths and methods also reach the function, so 404 and 405 are its
    // problem+json rather than API Gateway's bare {"message":"Not Found"}.
    defaultIntegration: integration,
  });
  for (const path of API_PATHS) {
    httpApi.addRoutes({ path, methods: [HttpMethod.ANY], integration });
  }

  const accessLogs = new LogGroup(stack, `ApiAccessLogs${suffix}`, {
    logGroupName: accessLogGroupName(stack.stackName, kind),
    retention,
    // Logs age out by retention anyway; `npm run destroy` should leave nothing behind, and a
    // retained group would make the next deploy of the same stack fail on its fixed name.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // `$default` stage: served at the API's root, so rawPath carries no stage prefix.
  const stage = new HttpStage(stack, `DefaultStage${suffix}`, {
    httpApi,
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: throttle.rate, burstLimit: throttle.burst },
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
    },
  });
  // Covers every route of the API (acknowledgments apply to the construct's whole subtree).
  Validations.of(httpApi).acknowledge({
    id: 'AwsSolutions-APIG4',
    reason: "An unauthenticated public API is the product: a check can only ever touch the caller's own address.",
  });
  return { kind, httpApi, stage };
}
