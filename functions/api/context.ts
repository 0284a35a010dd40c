/**
 * What the request pipeline hands each route: the dependencies, the request as read once
 * (query, preferred format, the caller's address), and the log fields the route adds to.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Config } from '../core/config.ts';
import type { BadRequest } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import type { HolderSource } from '../core/network-holder.ts';
import type { Probe } from '../core/probe.ts';
import type { RateLimiter, RateWindow } from '../core/rate-limiter.ts';
import type { ReverseDns } from '../core/reverse-dns.ts';
import type { SourceAddress, TargetPolicy } from '../core/source-address.ts';
import type { UdpProbe } from '../core/udp-probe.ts';
import type { WebAssets } from '../web/assets.ts';
import type { HttpResponse } from './http.ts';

/** Everything the handler needs, passed in so tests run the real code against real servers. */
export interface HandlerDeps {
  readonly config: Config;
  readonly probe: Probe;
  /** The UDP probe, for `/check/udp/{port}` and `udp=`. */
  readonly udpProbe: UdpProbe;
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
  readonly webAssets?: () => Promise<WebAssets | undefined>;
  /**
   * Who holds an address (`/ip`, the page): the offline dataset, loaded on first use. Absent,
   * `/ip` answers `null` holder fields.
   */
  readonly holders?: HolderSource;
  /** The scheme callers reach this API by: `https` behind API Gateway (the default), `http` locally. */
  readonly scheme?: 'http' | 'https';
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
  /**
   * The caller's address, parsed once per request; the parse failure when it could not be
   * read, kept rather than thrown so the page can still render. `callerAddress` throws it.
   */
  readonly source: SourceAddress | BadRequest;
  /**
   * A HEAD request: the route answers as for GET (the pipeline drops the body), except that a
   * check is validated but neither charged nor probed, since HEAD must be safe to send.
   */
  readonly head: boolean;
  /** Milliseconds left before the response must be on its way. */
  readonly remainingMs: () => number;
  /** Fields the route adds to the request's log line. */
  readonly logFields: Record<string, unknown>;
}

/** One route: a path pattern and its GET handler. */
export interface Route {
  readonly name: string;
  readonly pattern: RegExp;
  /** The media types its GET can answer in; an Accept header refusing all of them gets 406. */
  readonly produces: readonly string[];
  readonly get: (ctx: RouteContext) => Promise<HttpResponse>;
}

/** The caller's parsed address; throws the `BadRequest` when it could not be read. */
export function callerAddress(ctx: Pick<RouteContext, 'source'>): SourceAddress {
  if (ctx.source instanceof Error) throw ctx.source;
  return ctx.source;
}

/** The URL this request reached the API at, e.g. `https://abc.execute-api…` or `http://127.0.0.1:8787`. */
export function requestBaseUrl(ctx: Pick<RouteContext, 'event' | 'deps'>): string {
  // Only host-name and address characters: the result is pasted into a page and a script.
  const safe = (host: string | undefined): string | undefined =>
    host !== undefined && /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? host : undefined;
  const host = safe(ctx.event.headers?.host) ?? safe(ctx.event.requestContext?.domainName) ?? 'localhost';
  return `${ctx.deps.scheme ?? 'https'}://${host}`;
}
