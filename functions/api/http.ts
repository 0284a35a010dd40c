/**
 * HTTP concerns shared by every route: reading the payload-v2 request, content negotiation,
 * CORS and the headers every response carries.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BadRequest } from '../core/errors.ts';

/** The response shape API Gateway's payload v2 accepts, with headers always present. */
export type HttpResponse = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
};

/** Headers the browser may read on a cross-origin response. */
const EXPOSED_HEADERS = 'RateLimit, RateLimit-Policy, Retry-After';

/** Longest raw query string accepted; bounds parsing work on hostile input. */
export const MAX_QUERY_LENGTH = 2048;

/**
 * Parses the raw query string (not API Gateway's `queryStringParameters`, which silently
 * joins repeated names with commas and so would hide `ports=1&ports=2`).
 */
export function parseQuery(raw: string | undefined): Map<string, string[]> {
  const query = new Map<string, string[]>();
  if (raw === undefined || raw === '') return query;
  if (raw.length > MAX_QUERY_LENGTH) {
    throw new BadRequest(
      `The query string is ${raw.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted.`,
    );
  }
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    const values = query.get(name) ?? [];
    values.push(value);
    query.set(name, values);
  }
  return query;
}

/** Percent-decodes a query component (`+` is a space there); malformed escapes are a 400. */
export function decode(component: string): string {
  return decodePath(component.replace(/\+/g, ' '));
}

/** Percent-decodes a path segment, where `+` is itself; malformed escapes are a 400. */
export function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequest('The URL has a malformed percent-escape (like %zz or a cut-off UTF-8 sequence).');
  }
}

/** A header's value; payload v2 lower-cases names and joins repeats with commas. */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  return event.headers?.[name];
}

const TERMINAL_CLIENTS = /^(curl|wget|httpie|xh|powershell)\//i;

/**
 * The q-value `accept` gives `type`, from its most specific matching range; -1 if none matches.
 * 0 means "not acceptable" (RFC 9110 §12.4.2), which is not the same as unmentioned.
 */
function quality(accept: string, type: string): number {
  const major = type.slice(0, type.indexOf('/'));
  let specificity = 0;
  let q = -1;
  for (const range of accept.split(',')) {
    const [media = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    const rank = media === type ? 3 : media === `${major}/*` ? 2 : media === '*/*' ? 1 : 0;
    if (rank <= specificity) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const value = qParam === undefined ? 1 : Number(qParam.slice(2));
    specificity = rank;
    q = Number.isFinite(value) ? value : 0;
  }
  return q;
}

/**
 * Whether to answer in plain text: when the client asks for `text/plain` over JSON, or is a
 * terminal tool (curl, Wget, HTTPie) that did not ask for JSON.
 */
export function prefersText(event: APIGatewayProxyEventV2): boolean {
  const accept = header(event, 'accept')?.trim();
  if (accept !== undefined && accept !== '' && accept !== '*/*') {
    // A refused type (q=0) ranks below one the header does not mention at all.
    const rank = (type: string): number => {
      const q = quality(accept, type);
      return q === 0 ? -2 : q;
    };
    const text = rank('text/plain');
    const json = rank('application/json');
    if (text !== json) return text > json;
  }
  return TERMINAL_CLIENTS.test(header(event, 'user-agent') ?? '');
}

/**
 * Whether the Accept header leaves at least one of `types` acceptable. Only an explicit q=0
 * refuses a type: a header that merely does not mention one is disregarded, as RFC 9110 allows,
 * so a client asking for `application/xml` still gets JSON rather than a 406.
 */
export function acceptsAny(event: APIGatewayProxyEventV2, types: readonly string[]): boolean {
  const accept = header(event, 'accept')?.trim();
  if (accept === undefined || accept === '') return true;
  return types.some((type) => quality(accept, type) !== 0);
}

/** CORS headers for a response to `origin` under the configured allow-list. */
export function corsHeaders(
  origin: string | undefined,
  allowOrigins: readonly string[],
  privateNetwork = false,
): Record<string, string> {
  // Private Network Access: a page's preflight to a loopback or private server asks with
  // Access-Control-Request-Private-Network; only an allowed origin is told yes.
  const pna: Record<string, string> = privateNetwork ? { 'access-control-allow-private-network': 'true' } : {};
  if (allowOrigins[0] === '*') {
    return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS, ...pna };
  }
  const headers: Record<string, string> = { vary: 'Origin' };
  if (origin !== undefined && allowOrigins.includes(origin)) {
    Object.assign(
      headers,
      { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS },
      pna,
    );
  }
  return headers;
}

/**
 * Adds the headers every response carries (CORS, `no-store`, `nosniff`) to `response`;
 * `privateNetwork` when it answers a preflight that asked for private network access.
 */
export function withCommonHeaders(
  response: HttpResponse,
  origin: string | undefined,
  allowOrigins: readonly string[],
  privateNetwork = false,
): HttpResponse {
  Object.assign(response.headers, corsHeaders(origin, allowOrigins, privateNetwork), {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  return response;
}

/** Headers of a successful CORS preflight (the allowed methods and request headers). */
export function preflightHeaders(requestedHeaders: string | undefined): Record<string, string> {
  // Echo only well-formed header names; anything else falls back to the ones the API reads.
  const safe = requestedHeaders !== undefined && /^[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*$/.test(requestedHeaders.trim());
  return {
    'access-control-allow-methods': 'GET, OPTIONS',
    'access-control-allow-headers': safe ? requestedHeaders.trim() : 'Accept, Content-Type',
    'access-control-max-age': '86400',
  };
}

/** A JSON response. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: `${JSON.stringify(body)}\n`,
  };
}

/** A plain-text response. */
export function text(statusCode: number, body: string, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}
