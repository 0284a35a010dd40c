/**
 * `GET /`: reads `ports`, runs the check through `runCheck` (the same limiter and probe path as
 * `/check`), maps a refusal to its problem, and hands the view (`functions/web/page.ts`) what to
 * show. The page answers with the problem's status and headers, as `/check` would.
 */
import { endpointOrigins } from '../contract/families.ts';
import { ServiceError } from '../core/errors.ts';
import { RateLimitExceeded, type RateStatus } from '../core/rate-limiter.ts';
import { callerName } from '../core/reverse-dns.ts';
import { assertDialable, type SourceAddress } from '../core/source-address.ts';
import { contentSecurityPolicy, renderPage } from '../web/page.ts';
import {
  type CheckOutcome,
  localNotice,
  portListParameter,
  runCheck,
  udpListParameter,
  validateCheck,
} from './check.ts';
import { callerAddress, type RouteContext, requestBaseUrl } from './context.ts';
import type { HttpResponse } from './http.ts';
import { holderOf } from './ip-route.ts';
import { knownProblem, type ProblemAnswer } from './problem.ts';
import { rateLimitHeaders } from './rate-headers.ts';

/** The `GET /` route. */
export async function pageRoute(ctx: RouteContext): Promise<HttpResponse> {
  const { deps } = ctx;
  let source: SourceAddress | undefined;
  let addressNotice: string | undefined;
  try {
    source = callerAddress(ctx);
    assertDialable(source, deps.policy);
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    addressNotice = error.message;
  }
  const values = ctx.query.get('ports');
  const udpValues = ctx.query.get('udp');
  let outcome: CheckOutcome | undefined;
  let problem: ProblemAnswer | undefined;
  let rate: RateStatus | undefined;
  // The form sends both boxes; an empty UDP box beside TCP ports (or the reverse) means "none".
  const blank = (v: readonly string[] | undefined): boolean => v !== undefined && v.length === 1 && v[0] === '';
  const onlyUdp = blank(values) && udpValues !== undefined && !blank(udpValues);
  const onlyTcp = blank(udpValues) && values !== undefined;
  if (values !== undefined || udpValues !== undefined) {
    try {
      const asked = onlyUdp ? withoutParameter(ctx, 'ports') : onlyTcp ? withoutParameter(ctx, 'udp') : ctx;
      const tcp = portListParameter(asked);
      const udp = udpListParameter(asked, tcp?.length ?? 0);
      // HEAD renders the page as it is before a check: validated, never charged or probed.
      if (ctx.head) validateCheck(ctx);
      else outcome = await runCheck(ctx, tcp ?? [], udp ?? []);
      rate = outcome?.rate;
    } catch (error) {
      problem = knownProblem(error, ctx.requestId, deps.windows);
      if (problem === undefined) throw error;
      if (error instanceof RateLimitExceeded) rate = error.rate;
    }
  }
  const [reverseDns, holder] =
    source === undefined
      ? [null, undefined]
      : await Promise.all([callerName(deps.reverseDns, source), holderOf(ctx, source)]);
  const assets = deps.webAssets === undefined ? undefined : await deps.webAssets();
  const body = renderPage({
    source,
    addressNotice,
    localNotice: addressNotice === undefined ? localNotice(ctx) : undefined,
    reverseDns,
    ...(holder === undefined ? {} : { holder }),
    portsInput: values?.[0] ?? '',
    udpInput: udpValues?.[0] ?? '',
    maxPorts: deps.config.maxPorts,
    windows: deps.windows,
    body: outcome?.body,
    problem: problem?.problem,
    rate,
    baseUrl: requestBaseUrl(ctx),
    script: assets?.pageScript,
    endpoints: deps.config.endpoints,
    regions: deps.config.regions,
    regionsScript: assets?.pageRegionsScript,
  });
  return {
    statusCode: problem?.status ?? 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy(
        assets?.pageScript,
        assets,
        endpointOrigins(deps.config.endpoints),
        deps.config.regions,
        assets?.pageRegionsScript,
      ),
      'referrer-policy': 'no-referrer',
      ...(outcome?.rate === undefined ? {} : rateLimitHeaders(outcome.rate, deps.windows)),
      ...problem?.headers,
    },
    body,
  };
}

/** The route context as if `name` had not been given (an empty box of the form). */
function withoutParameter(ctx: RouteContext, name: string): RouteContext {
  const query = new Map(ctx.query);
  query.delete(name);
  return { ...ctx, query };
}
