/**
 * `GET /regions`: where checks can come from. A multi-region primary lists every
 * region from `REGIONS`, itself first; any other deployment lists itself alone, so a client
 * can always fan out through `/regions` whatever it is pointed at.
 */
import type { Region, RegionsResponse } from '../contract/wire.ts';
import type { RouteContext } from './context.ts';
import { type HttpResponse, header, json, text } from './http.ts';

/**
 * This API's own base URL: the IPv4-only endpoint the stack names, else the origin the request
 * came in on (the local server, which has no configured URL). API Gateway always says
 * `X-Forwarded-Proto: https`; the local server serves plain HTTP.
 */
function ownBase(ctx: RouteContext): string {
  const configured = ctx.deps.config.endpoints.ipv4;
  if (configured !== null) return configured;
  const scheme = header(ctx.event, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  const host = ctx.event.requestContext?.domainName ?? header(ctx.event, 'host') ?? 'localhost';
  // The host only goes back to the caller who sent it, but keep it to a host[:port].
  return /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? `${scheme}://${host}` : 'http://localhost';
}

/** The regions this deployment lists. */
export function regionsOf(ctx: RouteContext): readonly Region[] {
  const { config } = ctx.deps;
  return config.regions.length > 0 ? config.regions : [{ name: config.checkedFrom, api: ownBase(ctx) }];
}

/** The `/regions` route: JSON, or one `name url` line per region for terminal clients. */
export async function regionsRoute(ctx: RouteContext): Promise<HttpResponse> {
  const body: RegionsResponse = { regions: regionsOf(ctx) };
  return ctx.wantsText ? text(200, body.regions.map((r) => `${r.name} ${r.api}\n`).join('')) : json(200, body);
}
