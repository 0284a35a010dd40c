/**
 * The API's routes (DESIGN §3) and what each does. Each route reads its input, calls the core
 * modules and returns a response; failures are thrown as typed errors for `problem.ts`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Config } from '../core/config.ts';
import { BadRequest, NotFound } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import { parsePort, parsePortList } from '../core/ports.ts';
import type { Probe } from '../core/probe.ts';
import type { RateLimiter, RateWindow } from '../core/rate-limiter.ts';
import { callerName, type ReverseDns } from '../core/reverse-dns.ts';
import { parseSourceAddress, type TargetPolicy } from '../core/source-address.ts';
import type { WebAssets } from '../web/assets.ts';
import { pageRoute } from '../web/page.ts';
import { egressOf, runCheck } from './check.ts';
import { decode, type HttpResponse, json, text } from './http.ts';
import { openApiDocument } from './openapi.ts';
import { rateLimitHeaders } from './rate-headers.ts';
import { renderCheckText } from './render-text.ts';
import type { IpResponse } from './responses.ts';

/** Everything the handler needs, passed in so tests run the real code against real servers. */
export interface HandlerDeps {
  readonly config: Config;
  readonly probe: Probe;
  readonly limiter: RateLimiter;
  readonly reverseDns: ReverseDns;
  readonly log: Log;
  /** Which source addresses may be dialed; the Lambda entry fixes `public-only`. */
  readonly policy: TargetPolicy;
  /** Ports this checker cannot reach (25 from Lambda), answered `untestable` without dialing. */
  readonly blockedPorts: readonly number[];
  /** The rate-limit windows (from the config's limits). */
  readonly windows: readonly RateWindow[];
  /** Spacing between a port's connect attempts. */
  readonly attemptSpacingMs: number;
  /**
   * The browser code (widget and page script), built by esbuild: at start-up locally, at
   * bundle time for Lambda. Absent, the page works without JavaScript and `/widget.js` is 404.
   */
  readonly webAssets?: () => Promise<WebAssets>;
}

/** What a route sees of one request. */
export interface RouteContext {
  readonly event: APIGatewayProxyEventV2;
  readonly deps: HandlerDeps;
  /** API Gateway's request id, quoted in problem details. */
  readonly requestId: string;
  /** Path parameters captured by the route's pattern. */
  readonly params: readonly string[];
  readonly query: ReadonlyMap<string, readonly string[]>;
  readonly wantsText: boolean;
  /** Milliseconds left before the response must be on its way. */
  readonly remainingMs: () => number;
  /** Fields the route adds to the request's log line. */
  readonly logFields: Record<string, unknown>;
}

/** One route: a path pattern and its GET handler. */
export interface Route {
  readonly name: string;
  readonly pattern: RegExp;
  readonly get: (ctx: RouteContext) => Promise<HttpResponse>;
}

async function check(ctx: RouteContext, ports: readonly number[]): Promise<HttpResponse> {
  const { body, rate } = await runCheck(ctx, ports);
  const headers = rate === undefined ? {} : rateLimitHeaders(rate, ctx.deps.windows);
  return ctx.wantsText ? text(200, renderCheckText(body), headers) : json(200, body, headers);
}

function portsParameter(ctx: RouteContext): number[] {
  const values = ctx.query.get('ports');
  if (values === undefined) {
    throw new BadRequest('Say which ports to check: /check?ports=22,80,443 or /check/443.');
  }
  if (values.length > 1) {
    throw new BadRequest('Give "ports" once, as a comma-separated list: ports=22,80,443.');
  }
  return parsePortList(values[0] ?? '', ctx.deps.config.maxPorts);
}

/** The routes of DESIGN §3 served by this function. */
export const ROUTES: readonly Route[] = [
  {
    name: '/check/{port}',
    pattern: /^\/check\/([^/]*)$/,
    get: (ctx) => check(ctx, [parsePort(decode(ctx.params[0] ?? ''))]),
  },
  {
    name: '/check',
    pattern: /^\/check$/,
    get: (ctx) => check(ctx, portsParameter(ctx)),
  },
  {
    name: '/ip',
    pattern: /^\/ip$/,
    get: async (ctx) => {
      const source = parseSourceAddress(ctx.event.requestContext?.http?.sourceIp);
      const body: IpResponse = {
        ip: source.address,
        family: source.family,
        reverseDns: await callerName(ctx.deps.reverseDns, source),
        egress: egressOf(ctx.deps.config),
      };
      return ctx.wantsText ? text(200, `${body.ip}\n`) : json(200, body);
    },
  },
  {
    name: '/',
    pattern: /^\/$/,
    get: pageRoute,
  },
  {
    name: '/widget.js',
    pattern: /^\/widget\.js$/,
    get: async (ctx) => {
      const assets = ctx.deps.webAssets === undefined ? undefined : await ctx.deps.webAssets();
      if (assets === undefined) throw new NotFound('This deployment was bundled without the widget.');
      return {
        statusCode: 200,
        headers: { 'content-type': 'text/javascript; charset=utf-8', 'cross-origin-resource-policy': 'cross-origin' },
        body: assets.widget,
      };
    },
  },
  {
    name: '/openapi.json',
    pattern: /^\/openapi\.json$/,
    get: async (ctx) => json(200, openApiDocument(ctx.deps.config)),
  },
];
