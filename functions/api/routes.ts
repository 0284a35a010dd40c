/**
 * The API's routes (DESIGN §3) and what each does. Each route reads its input, calls the core
 * modules and returns a response; failures are thrown as typed errors for `problem.ts`.
 */
import { renderCheckText } from '../contract/render-text.ts';
import { parsePort } from '../contract/wire.ts';
import { BadRequest, NotFound } from '../core/errors.ts';
import { SERVED_API_PLACEHOLDER, type WebAssets } from '../web/assets.ts';
import { localNotice, portListParameter, runCheck, udpListParameter, validateCheck } from './check.ts';
import { type Route, type RouteContext, requestBaseUrl } from './context.ts';
import { decodePath, type HttpResponse, json, text } from './http.ts';
import { ipRoute } from './ip-route.ts';
import { fillOpenApiTemplate } from './openapi/limits.ts';
import { pageRoute } from './page-route.ts';
import { rateLimitHeaders } from './rate-headers.ts';
import { regionsRoute } from './regions-route.ts';

async function check(
  ctx: RouteContext,
  ports: readonly number[],
  udpPorts: readonly number[] = [],
): Promise<HttpResponse> {
  if (ctx.head) {
    // HEAD must be safe: it is refused as the GET would be (400, 403), but nothing is charged
    // or dialed, so a 200 means "a GET would run this check" (README, OpenAPI `head`).
    validateCheck(ctx);
    // Only the GET's content type matters: the pipeline sends HEAD answers without a body.
    return ctx.wantsText ? text(200, '') : json(200, null);
  }
  const { body, rate } = await runCheck(ctx, ports, udpPorts);
  const headers = rate === undefined ? {} : rateLimitHeaders(rate, ctx.deps.windows);
  return ctx.wantsText ? text(200, renderCheckText(body, localNotice(ctx)), headers) : json(200, body, headers);
}

/** `ports` (TCP) and `udp` (UDP) of `/check`; at least one of them. */
function portsParameters(ctx: RouteContext): { tcp: number[]; udp: number[] } {
  const tcp = portListParameter(ctx);
  const udp = udpListParameter(ctx, tcp?.length ?? 0);
  if (tcp === undefined && udp === undefined) {
    throw new BadRequest('Say which ports to check: /check?ports=22,80,443, /check?udp=53,51820 or /check/443.');
  }
  return { tcp: tcp ?? [], udp: udp ?? [] };
}

/**
 * Serves one of the files built beside the function (`WebAssets`) with `contentType`; 404 when
 * the deployment was bundled without it.
 */
async function served(
  ctx: RouteContext,
  what: string,
  pick: (assets: WebAssets) => string | undefined | Promise<string | undefined>,
  headers: Record<string, string>,
): Promise<HttpResponse> {
  const assets = ctx.deps.webAssets === undefined ? undefined : await ctx.deps.webAssets();
  const body = assets === undefined ? undefined : await pick(assets);
  if (body === undefined) throw new NotFound(`This deployment was bundled without ${what}.`);
  return { statusCode: 200, headers, body };
}

const JAVASCRIPT = { 'content-type': 'text/javascript; charset=utf-8' } as const;

/** What `/check` and `/ip` answer in: JSON, or plain text for terminals. */
const JSON_OR_TEXT = ['application/json', 'text/plain'] as const;

/**
 * The routes of DESIGN §3 served by this function: the one place a route is written. The
 * OpenAPI document (openapi/document.ts) and API Gateway's routes (infra/aws/public-api.ts) are
 * derived from it, and the type of `name` makes the document demand a path item per route.
 */
export const ROUTES = [
  {
    name: '/check/{port}',
    pattern: /^\/check\/([^/]*)$/,
    produces: JSON_OR_TEXT,
    get: (ctx) => check(ctx, [parsePort(decodePath(ctx.params[0] ?? ''))]),
  },
  {
    name: '/check/udp/{port}',
    pattern: /^\/check\/udp\/([^/]*)$/,
    produces: JSON_OR_TEXT,
    get: (ctx) => check(ctx, [], [parsePort(decodePath(ctx.params[0] ?? ''), 'udp')]),
  },
  {
    name: '/check',
    pattern: /^\/check$/,
    produces: JSON_OR_TEXT,
    get: (ctx) => {
      const { tcp, udp } = portsParameters(ctx);
      return check(ctx, tcp, udp);
    },
  },
  {
    name: '/ip',
    pattern: /^\/ip$/,
    produces: JSON_OR_TEXT,
    get: ipRoute,
  },
  {
    name: '/',
    pattern: /^\/$/,
    produces: ['text/html'],
    get: pageRoute,
  },
  {
    name: '/widget.js',
    pattern: /^\/widget\.js$/,
    produces: ['text/javascript'],
    get: (ctx) =>
      served(ctx, 'the widget', (assets) => assets.widget, {
        ...JAVASCRIPT,
        'cross-origin-resource-policy': 'cross-origin',
      }),
  },
  {
    name: '/dialback.mjs',
    pattern: /^\/dialback\.mjs$/,
    produces: ['text/javascript'],
    // Pointed at this API, so `node dialback.mjs 443` needs no --api.
    get: (ctx) =>
      served(
        ctx,
        'the standalone CLI',
        async (assets) => (await assets.cli())?.replaceAll(SERVED_API_PLACEHOLDER, requestBaseUrl(ctx)),
        JAVASCRIPT,
      ),
  },
  {
    name: '/openapi.json',
    pattern: /^\/openapi\.json$/,
    produces: ['application/json'],
    // Built at bundle time with stand-in limits (openapi/limits.ts); this deployment's go in.
    get: (ctx) =>
      served(
        ctx,
        'the OpenAPI document',
        async (assets) => {
          const template = await assets.openApi();
          return template === undefined ? undefined : `${fillOpenApiTemplate(template, ctx.deps.config)}\n`;
        },
        { 'content-type': 'application/json; charset=utf-8' },
      ),
  },
  {
    name: '/regions',
    pattern: /^\/regions$/,
    produces: ['application/json'],
    get: regionsRoute,
  },
] as const satisfies readonly Route[];

/** The name (OpenAPI path) of each route. */
export type RouteName = (typeof ROUTES)[number]['name'];
