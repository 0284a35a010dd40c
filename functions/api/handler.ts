/**
 * The request pipeline for API Gateway HTTP API payload v2: route, run, map failures to
 * problem+json in one place, add the headers every response carries, and log one line.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { endpointOrigins } from '../contract/families.ts';
import { BadRequest, MethodNotAllowed, NotAcceptable, NotFound } from '../core/errors.ts';
import { parseSourceAddress, type SourceAddress } from '../core/source-address.ts';
import type { HandlerDeps, Route, RouteContext } from './context.ts';
import {
  acceptsAny,
  type HttpResponse,
  header,
  parseQuery,
  prefersText,
  preflightHeaders,
  withCommonHeaders,
} from './http.ts';
import { describeError, problemResponse } from './problem.ts';
import { ROUTES } from './routes.ts';

export type { HandlerDeps } from './context.ts';

/** The Lambda handler's type: payload v2 in, a structured result out. */
export type Handler = (
  event: APIGatewayProxyEventV2,
  context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>,
) => Promise<HttpResponse>;

/** Time kept back from the Lambda's deadline to write the response and the log line. */
const RESPONSE_MARGIN_MS = 500;

/** HEAD is answered wherever GET is (RFC 9110 §9.3.2): the GET's status and headers, no body. */
const ALLOWED = ['GET', 'HEAD', 'OPTIONS'] as const;

/** Reads the caller's address once; a failure is kept for the route to throw or show. */
function readSource(event: APIGatewayProxyEventV2): SourceAddress | BadRequest {
  try {
    return parseSourceAddress(event.requestContext?.http?.sourceIp);
  } catch (error) {
    if (error instanceof BadRequest) return error;
    throw error;
  }
}

function match(path: string): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    const found = route.pattern.exec(path);
    if (found) return { route, params: found.slice(1) };
  }
  return undefined;
}

async function dispatch(ctx: Omit<RouteContext, 'params'>, method: string, path: string): Promise<HttpResponse> {
  const found = match(path);
  if (found === undefined)
    throw new NotFound(
      `There is no ${path.length > 64 ? 'such path' : `"${path}"`} here. Try /check/443, /check?ports=22,80 or /ip.`,
    );
  ctx.logFields.route = found.route.name;
  if (method === 'OPTIONS') {
    const requested = header(ctx.event, 'access-control-request-method');
    return {
      statusCode: 204,
      headers: {
        allow: ALLOWED.join(', '),
        ...(requested === undefined ? {} : preflightHeaders(header(ctx.event, 'access-control-request-headers'))),
      },
      body: '',
    };
  }
  if (method !== 'GET' && method !== 'HEAD') {
    throw new MethodNotAllowed(`${found.route.name} answers GET and HEAD only.`, ALLOWED);
  }
  // Refused before the route runs, so a check the caller cannot read is never spent.
  if (!acceptsAny(ctx.event, found.route.produces)) {
    throw new NotAcceptable(
      `${found.route.name} answers ${found.route.produces.join(' or ')}, and the Accept header refuses all of them (q=0).`,
    );
  }
  return found.route.get({ ...ctx, params: found.params });
}

/** Builds the handler once per container from its dependencies. */
export function createHandler(deps: HandlerDeps): Handler {
  // The deployment's own endpoints always pass CORS: the page served by one checks through the other.
  const { corsAllowOrigins, endpoints } = deps.config;
  const allowOrigins =
    corsAllowOrigins[0] === '*' ? corsAllowOrigins : [...new Set([...corsAllowOrigins, ...endpointOrigins(endpoints)])];
  return async (event, context) => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const logFields: Record<string, unknown> = { requestId, method };
    let response: HttpResponse;
    let wantsText = false;
    try {
      wantsText = prefersText(event);
      const path = event.rawPath ?? '/';
      response = await dispatch(
        {
          event,
          deps,
          requestId,
          query: parseQuery(event.rawQueryString),
          wantsText,
          source: readSource(event),
          head: method === 'HEAD',
          remainingMs: () => context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS,
          logFields,
        },
        method,
        path,
      );
    } catch (error) {
      response = problemResponse(error, requestId, deps.windows, wantsText);
      if (response.statusCode >= 500) Object.assign(logFields, describeError(error));
    }
    // HEAD gets the GET's status and headers; the body (page, problem or document) is dropped.
    if (method === 'HEAD') response.body = '';
    const privateNetwork = method === 'OPTIONS' && header(event, 'access-control-request-private-network') === 'true';
    withCommonHeaders(response, header(event, 'origin'), allowOrigins, privateNetwork);
    // A dial the runtime called connected with no connection behind it was no verdict, but it
    // is the one sign of a runtime misreporting handshakes: the line is a warning.
    const level = response.statusCode >= 500 ? 'error' : logFields.unprovenConnects === undefined ? 'info' : 'warn';
    deps.log(level, 'request', {
      ...logFields,
      status: response.statusCode,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
    return response;
  };
}
