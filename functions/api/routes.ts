/**
 * The API's routes (DESIGN §3) and what each does. Each route reads its input, calls the core
 * modules and returns a response; failures are thrown as typed errors for `problem.ts`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Config } from '../core/config.ts';
import { parseToken, proofLine } from '../core/dial-proof.ts';
import { BadRequest, Unavailable } from '../core/errors.ts';
import type { Log } from '../core/log.ts';
import { parsePort, parsePortList } from '../core/ports.ts';
import type { PortResult, Probe } from '../core/probe.ts';
import type { RateLimiter, RateWindow } from '../core/rate-limiter.ts';
import type { ReverseDns } from '../core/reverse-dns.ts';
import { assertDialable, parseSourceAddress, type TargetPolicy } from '../core/source-address.ts';
import { decode, type HttpResponse, json, text } from './http.ts';
import { rateLimitHeaders } from './rate-headers.ts';
import { renderCheckText } from './render-text.ts';
import type { CheckResponse, Egress, IpResponse } from './responses.ts';

/** Everything the handler needs, passed in so tests run the real code against real servers. */
export interface HandlerDeps {
  readonly config: Config;
  readonly probe: Probe;
  readonly limiter: RateLimiter;
  readonly reverseDns: ReverseDns;
  readonly log: Log;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Which source addresses may be dialed; the Lambda entry fixes `public-only`. */
  readonly policy: TargetPolicy;
  /** Ports this checker cannot reach (25 from Lambda), answered `untestable` without dialing. */
  readonly blockedPorts: readonly number[];
  /** The rate-limit windows (from the config's limits). */
  readonly windows: readonly RateWindow[];
  /** Spacing between a port's connect attempts. */
  readonly attemptSpacingMs: number;
}

/** What a route sees of one request. */
export interface RouteContext {
  readonly event: APIGatewayProxyEventV2;
  readonly deps: HandlerDeps;
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

/** The shortest per-port deadline worth running; below it the answer would be a guess. */
const MIN_PROBE_MS = 250;

function egressOf(config: Config): Egress {
  return { fixed: config.egressAddresses.length > 0, addresses: config.egressAddresses, ipv6: config.ipv6Egress };
}

function tokenParameter(ctx: RouteContext): string | undefined {
  const values = ctx.query.get('token');
  if (values === undefined) return undefined;
  if (values.length > 1) throw new BadRequest('Give "token" once.');
  return parseToken(values[0] ?? '');
}

async function check(ctx: RouteContext, ports: readonly number[]): Promise<HttpResponse> {
  const { deps, event } = ctx;
  const source = parseSourceAddress(event.requestContext?.http?.sourceIp);
  assertDialable(source, deps.policy);
  const token = tokenParameter(ctx);
  ctx.logFields.ports = ports.length;
  let timeoutMs = deps.config.probeTimeoutMs;
  let results: PortResult[];
  let headers: Record<string, string> = {};
  if (source.family === 6 && !deps.config.ipv6Egress) {
    // Nothing can be dialed, so nothing is spent: say so instead of a false "filtered".
    results = ports.map((port) => ({ port, state: 'untestable', reason: 'no-ipv6-egress', rttMs: null }));
  } else {
    const status = await deps.limiter(source, ports.length);
    headers = rateLimitHeaders(status, deps.windows);
    timeoutMs = Math.min(timeoutMs, ctx.remainingMs());
    if (timeoutMs < MIN_PROBE_MS) {
      throw new Unavailable('The service ran out of time for this request; try again.', 1);
    }
    results = await deps.probe(source, ports, {
      timeoutMs,
      attempts: deps.config.probeAttempts,
      attemptSpacingMs: deps.attemptSpacingMs,
      blockedPorts: deps.blockedPorts,
      ...(token === undefined ? {} : { greeting: proofLine(token) }),
    });
  }
  ctx.logFields.states = countStates(results);
  const body: CheckResponse = {
    ip: source.address,
    family: source.family,
    checkedFrom: deps.config.checkedFrom,
    timeoutMs,
    egress: egressOf(deps.config),
    results,
  };
  return ctx.wantsText ? text(200, renderCheckText(body), headers) : json(200, body, headers);
}

function countStates(results: readonly PortResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
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
        // Only global addresses have PTR records worth asking the world for; skipping the
        // rest also keeps a local or lab server from sending DNS queries off the machine.
        reverseDns: source.range === 'unicast' ? await ctx.deps.reverseDns(source.address) : null,
        egress: egressOf(ctx.deps.config),
      };
      return ctx.wantsText ? text(200, `${body.ip}\n`) : json(200, body);
    },
  },
];
