/**
 * The OpenAPI 3.1 description served at `GET /openapi.json`: every route, method, status,
 * header and body the function produces. It is built from the same constants the code uses
 * (config limits, the state and reason lists), and the test suite validates every response
 * it receives against it, so the document cannot drift from the handler.
 */

import { TOKEN_PATTERN } from '../contract/dial-proof.ts';
import {
  HINT_TEXT,
  REASON_MEANING,
  STATE_MEANING,
  UDP_REASON_MEANING,
  UDP_STATE_MEANING,
} from '../contract/verdict-text.ts';
import {
  MAX_PORT_LIST_LENGTH,
  PORT_LIST_PATTERN,
  PORT_PATTERN,
  PORT_REASONS,
  PORT_STATES,
  type PortHint,
} from '../contract/wire.ts';
import type { Config } from '../core/config.ts';
import { MAX_QUERY_LENGTH } from './http.ts';

/** An OpenAPI document: plain JSON. */
export type OpenApiDocument = Readonly<Record<string, unknown>>;

// The wire contract's lists, complete by type there: a new state or reason is a compile error.
const STATES = PORT_STATES;
const REASONS = PORT_REASONS;
const HINTS = Object.keys(HINT_TEXT) as PortHint[];

const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string): { $ref: string } => ({ $ref: `#/components/headers/${name}` });
const response = (name: string): { $ref: string } => ({ $ref: `#/components/responses/${name}` });

/** Headers on every response the function writes. */
const COMMON_HEADERS = {
  'Cache-Control': header('Cache-Control'),
  'X-Content-Type-Options': header('X-Content-Type-Options'),
  'Access-Control-Allow-Origin': header('Access-Control-Allow-Origin'),
  'Access-Control-Expose-Headers': header('Access-Control-Expose-Headers'),
  Vary: header('Vary'),
};

/** Rate-limit headers: present on every charged or refused check. */
const RATE_HEADERS = {
  RateLimit: header('RateLimit'),
  'RateLimit-Policy': header('RateLimit-Policy'),
};

/** Present only when the request spent budget (the page without `ports`, IPv6 without IPv6 egress: absent). */
const PAGE_RATE_HEADERS = {
  RateLimit: header('RateLimitIfChecked'),
  'RateLimit-Policy': header('RateLimitPolicyIfChecked'),
};

const RATE_LIMIT = {
  description: 'The caller\'s standing per window: `"minute";r=REMAINING;t=SECONDS_TO_RESET, "day";…`.',
  schema: { type: 'string', pattern: '^"[a-z]+";r=\\d+;t=\\d+(, "[a-z]+";r=\\d+;t=\\d+)*$' },
};

const RATE_LIMIT_POLICY = {
  description: 'The windows: `"minute";q=LIMIT;w=60, "day";q=LIMIT;w=86400`.',
  schema: { type: 'string', pattern: '^"[a-z]+";q=\\d+;w=\\d+(, "[a-z]+";q=\\d+;w=\\d+)*$' },
};

/** Problems are problem+json, or one plain-text paragraph for terminal clients (as `/check` answers them). */
const PROBLEM_CONTENT = {
  'application/problem+json': { schema: ref('Problem') },
  'text/plain': { schema: { type: 'string' } },
};

function problemResponse(description: string, extraHeaders: Record<string, unknown> = {}): Record<string, unknown> {
  return { description, headers: { ...COMMON_HEADERS, ...extraHeaders }, content: PROBLEM_CONTENT };
}

/** The page answers errors of a check as HTML, with the same status and headers as `/check`. */
function pageProblem(description: string, extraHeaders: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    description,
    headers: { ...COMMON_HEADERS, ...PAGE_HEADERS, ...extraHeaders },
    content: { 'text/html': { schema: { type: 'string' } } },
  };
}

const PAGE_HEADERS = {
  'Content-Security-Policy': header('Content-Security-Policy'),
  'Referrer-Policy': header('Referrer-Policy'),
};

/**
 * HEAD as RFC 9110 has it: the GET's status and headers, no body. `responses` names what may
 * differ from the GET (the checks' HEAD neither charges nor probes); otherwise the GET's own.
 */
function headOperation(
  operationId: string,
  get: Record<string, unknown>,
  responses?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    operationId: `${operationId}Head`,
    summary: `As GET ${operationId}, without a body`,
    tags: get.tags,
    ...(get.parameters === undefined ? {} : { parameters: get.parameters }),
    // Marked for `withoutBodies`, which resolves the GET's responses once the components exist.
    responses: responses ?? { [HEAD_OF]: get.responses },
  };
}

const HEAD_OF = 'x-head-of-get';

type Json = Record<string, unknown>;

/** Rewrites every HEAD operation's responses as the GET's with their `content` removed. */
function withoutBodies(doc: Json): void {
  const components = doc.components as Json;
  const resolve = (value: unknown): Json => {
    const ref = (value as { $ref?: string }).$ref;
    return ref === undefined ? (value as Json) : ((components.responses as Json)[ref.split('/').pop() ?? ''] as Json);
  };
  for (const item of Object.values(doc.paths as Json)) {
    const head = (item as Json).head as Json;
    const responses = head.responses as Json;
    const of = (responses[HEAD_OF] as Json | undefined) ?? responses;
    head.responses = Object.fromEntries(
      Object.entries(of).map(([status, value]) => {
        const { content: _dropped, ...bodiless } = resolve(value);
        return [status, bodiless];
      }),
    );
  }
}

/**
 * A path's GET, its HEAD and its CORS preflight. Other methods are not operations, so they are
 * not listed (a generated client would grow methods that always fail); the document's
 * description says in words that they answer 405.
 */
function pathItem(
  operationId: string,
  get: Record<string, unknown>,
  extraParameters: unknown[] = [],
  headResponses?: Record<string, unknown>,
): Record<string, unknown> {
  // Any GET whose every media type the Accept header refuses (q=0) answers 406.
  const withNotAcceptable = {
    ...get,
    responses: { ...(get.responses as Record<string, unknown>), '406': response('NotAcceptable') },
  };
  return {
    ...(extraParameters.length === 0 ? {} : { parameters: extraParameters }),
    get: { operationId, ...withNotAcceptable },
    head: headOperation(operationId, withNotAcceptable, headResponses),
    options: {
      operationId: `${operationId}Preflight`,
      summary: 'CORS preflight',
      tags: ['cors'],
      parameters: [
        { name: 'Access-Control-Request-Method', in: 'header', schema: { type: 'string' } },
        { name: 'Access-Control-Request-Headers', in: 'header', schema: { type: 'string' } },
      ],
      responses: { '204': response('Preflight'), '400': response('BadRequest'), '500': response('InternalError') },
    },
  };
}

/**
 * HEAD on a check route: refused as the GET would be, but never charged or probed, because a
 * HEAD must be safe to send (link checkers, `curl -I`). So no 429 and no rate headers.
 */
function checkHeadResponses(): Record<string, unknown> {
  return {
    '200': {
      description:
        'The request is valid and a GET would run this check now (its budget permitting). Nothing was probed or charged; no body.',
      headers: COMMON_HEADERS,
    },
    '400': response('BadRequest'),
    '403': response('Forbidden'),
    '500': response('InternalError'),
  };
}

function checkResponses(): Record<string, unknown> {
  return {
    '200': {
      description:
        'The verdict for every port, whatever the states. JSON by default; Nmap-style text for terminal clients (curl, Wget, HTTPie) or `Accept: text/plain`.',
      // No RateLimit headers when nothing was spent (IPv6 caller, no IPv6 egress).
      headers: { ...COMMON_HEADERS, ...PAGE_RATE_HEADERS },
      content: {
        'application/json': { schema: ref('CheckResponse') },
        'text/plain': { schema: { type: 'string' } },
      },
    },
    '400': response('BadRequest'),
    '403': response('Forbidden'),
    '429': response('RateLimited'),
    '500': response('InternalError'),
    '503': response('Unavailable'),
  };
}

const cache = new WeakMap<Config, OpenApiDocument>();

/** The document for a running configuration (limits appear in it). */
export function openApiDocument(config: Config): OpenApiDocument {
  const cached = cache.get(config);
  if (cached !== undefined) return cached;
  const portParameter = {
    name: 'port',
    in: 'path',
    required: true,
    description: 'A TCP port, 1–65535, plain ASCII decimal without leading zeros.',
    schema: { type: 'string', pattern: `^${PORT_PATTERN}$` },
    example: '443',
  };
  const tokenParameter = {
    name: 'token',
    in: 'query',
    required: false,
    description:
      'Dial proof: after the handshake the probe writes one line, `DIALBACK <token>\\n`, so your listener can tell the connection reached this machine.',
    schema: { type: 'string', pattern: TOKEN_PATTERN.source },
  };
  const doc: OpenApiDocument = {
    openapi: '3.1.0',
    info: {
      title: 'Dialback',
      version: '1.0.0',
      summary: 'An external TCP port checker that dials back to the caller, and only the caller.',
      description:
        "Every check connects back to the address the request came from (never any other) and reports Nmap's connect-scan states. " +
        `Each port checked counts against the caller's budget: ${config.ratePerMinute} per minute and ${config.ratePerDay} per day (per /64 on IPv6). ` +
        'Unknown paths answer 404 (`components.responses.NotFound`); methods other than GET, HEAD and OPTIONS, 405 (`MethodNotAllowed`). ' +
        "HEAD is answered wherever GET is, with the GET's status and headers and no body; on `/check` and on the page with `ports` or `udp`, HEAD validates the request but neither probes nor charges the budget. " +
        "Every response carries `Cache-Control: no-store`. No authentication: a check only ever touches the caller's own address.",
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'The API that served this document' }],
    // Public by design: nothing to authenticate, since a caller can only check itself.
    security: [],
    tags: [
      { name: 'check', description: 'Port checks on your own address' },
      { name: 'web', description: 'The page, the widget and this document' },
      { name: 'cors', description: 'CORS preflight' },
    ],
    paths: {
      '/check/{port}': pathItem(
        'checkPort',
        {
          tags: ['check'],
          summary: "Check one TCP port on the caller's address",
          parameters: [tokenParameter],
          responses: checkResponses(),
        },
        [portParameter],
        checkHeadResponses(),
      ),
      '/check/udp/{port}': pathItem(
        'checkUdpPort',
        {
          tags: ['check'],
          summary: "Check one UDP port on the caller's address",
          description:
            'Sends the port a small protocol request (DNS, NTP, QUIC, OpenVPN, STUN, Minecraft Bedrock, Source A2S; an empty datagram elsewhere), retried until an answer, an ICMP error or the deadline. With `token`, the datagram carries the dial-proof line instead (`dialback listen --udp`).',
          parameters: [tokenParameter],
          responses: checkResponses(),
        },
        [
          {
            ...portParameter,
            description: 'A UDP port, 1–65535, plain ASCII decimal without leading zeros.',
            example: '51820',
          },
        ],
        checkHeadResponses(),
      ),
      '/check': pathItem(
        'checkPorts',
        {
          tags: ['check'],
          summary: `Check up to ${config.maxPorts} distinct ports at once, TCP (\`ports\`) and UDP (\`udp\`)`,
          description:
            'Give `ports`, `udp` or both; together they name at most the per-request maximum. Results list the TCP ports first.',
          parameters: [
            {
              name: 'ports',
              in: 'query',
              required: false,
              description: `Comma-separated TCP ports, given once; duplicates count once; at most ${config.maxPorts} distinct (with \`udp\`).`,
              schema: { type: 'string', pattern: `^${PORT_LIST_PATTERN}$`, maxLength: MAX_PORT_LIST_LENGTH },
              example: '22,80,443',
            },
            {
              name: 'udp',
              in: 'query',
              required: false,
              description: `Comma-separated UDP ports, in the same grammar as \`ports\`; at most ${config.maxPorts} distinct (with \`ports\`).`,
              schema: { type: 'string', pattern: `^${PORT_LIST_PATTERN}$`, maxLength: MAX_PORT_LIST_LENGTH },
              example: '53,51820',
            },
            tokenParameter,
          ],
          responses: checkResponses(),
        },
        [],
        checkHeadResponses(),
      ),
      '/ip': pathItem('whoami', {
        tags: ['check'],
        summary: "The address the service sees, its family, its reverse-DNS name and this deployment's endpoints",
        responses: {
          '200': {
            description: 'JSON by default; the bare address as text for terminal clients.',
            headers: COMMON_HEADERS,
            content: {
              'application/json': { schema: ref('IpResponse') },
              'text/plain': { schema: { type: 'string' } },
            },
          },
          '400': response('BadRequest'),
          '500': response('InternalError'),
        },
      }),
      '/': pathItem('page', {
        tags: ['web'],
        summary:
          'The human page; with `ports` and/or `udp`, it runs a check and renders the verdicts (no JavaScript needed)',
        parameters: [
          {
            name: 'ports',
            in: 'query',
            required: false,
            description:
              'As for `/check`: TCP ports separated by single commas, no spaces. Empty beside a non-empty `udp` (the form sends both boxes) means none.',
            schema: { type: 'string', pattern: `^(?:${PORT_LIST_PATTERN})?$`, maxLength: MAX_PORT_LIST_LENGTH },
          },
          {
            name: 'udp',
            in: 'query',
            required: false,
            description: 'As for `/check`: UDP ports. Empty beside `ports` means none.',
            schema: { type: 'string', pattern: `^(?:${PORT_LIST_PATTERN})?$`, maxLength: MAX_PORT_LIST_LENGTH },
          },
          tokenParameter,
        ],
        responses: {
          '200': {
            description: 'The page, with verdicts and advice when `ports` was given.',
            headers: { ...COMMON_HEADERS, ...PAGE_HEADERS, ...PAGE_RATE_HEADERS },
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '400': pageProblem('The page, explaining what is wrong with `ports` (or the URL).'),
          '403': pageProblem("The page, explaining why the caller's address cannot be checked."),
          '429': pageProblem('The page, saying when the next check can run.', {
            'Retry-After': header('Retry-After'),
            ...RATE_HEADERS,
          }),
          '500': response('InternalError'),
          '503': pageProblem('The page, saying the service cannot check right now.', {
            'Retry-After': header('Retry-After'),
          }),
        },
      }),
      '/widget.js': pathItem('widget', {
        tags: ['web'],
        summary: 'The `<dialback-check>` custom element, an ES module with no dependencies',
        responses: {
          '200': {
            description: 'The module.',
            headers: { ...COMMON_HEADERS, 'Cross-Origin-Resource-Policy': header('Cross-Origin-Resource-Policy') },
            content: { 'text/javascript': { schema: { type: 'string' } } },
          },
          '400': response('BadRequest'),
          '404': response('NotFound'),
          '500': response('InternalError'),
        },
      }),
      '/dialback.mjs': pathItem('cli', {
        tags: ['web'],
        summary: 'The CLI as one file for Node.js, no dependencies, pointed at this API: `node dialback.mjs 443`',
        responses: {
          '200': {
            description: 'The ES module.',
            headers: COMMON_HEADERS,
            content: { 'text/javascript': { schema: { type: 'string' } } },
          },
          '400': response('BadRequest'),
          '404': response('NotFound'),
          '500': response('InternalError'),
        },
      }),
      '/openapi.json': pathItem('openapi', {
        tags: ['web'],
        summary: 'This document',
        responses: {
          '200': {
            description: 'OpenAPI 3.1.',
            headers: COMMON_HEADERS,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['openapi', 'paths'],
                  properties: { openapi: { type: 'string' }, paths: { type: 'object' } },
                },
              },
            },
          },
          '400': response('BadRequest'),
          '500': response('InternalError'),
        },
      }),
      '/regions': pathItem('regions', {
        tags: ['check'],
        summary: 'Where checks can come from: every region of this deployment and its API',
        description:
          'A multi-region deployment answers here, on its primary, with every region, the primary first; check from each by calling its `api`. Any other deployment lists itself alone.',
        responses: {
          '200': {
            description: 'JSON by default; one `NAME URL` line per region for terminal clients.',
            headers: COMMON_HEADERS,
            content: {
              'application/json': { schema: ref('RegionsResponse') },
              'text/plain': { schema: { type: 'string' } },
            },
          },
          '400': response('BadRequest'),
          '500': response('InternalError'),
        },
      }),
    },
    components: {
      schemas: {
        PortState: {
          type: 'string',
          enum: STATES,
          description: STATES.map((s) =>
            s in STATE_MEANING ? STATE_MEANING[s as keyof typeof STATE_MEANING] : `UDP ${UDP_STATE_MEANING[s]}`,
          ).join(' '),
        },
        PortReason: {
          type: 'string',
          enum: REASONS,
          description: REASONS.map(
            (r) =>
              `\`${r}\`: ${r in REASON_MEANING ? REASON_MEANING[r as keyof typeof REASON_MEANING] : UDP_REASON_MEANING[r as keyof typeof UDP_REASON_MEANING]}.`,
          ).join(' '),
        },
        PortResult: {
          type: 'object',
          additionalProperties: false,
          required: ['port', 'state', 'reason', 'rttMs'],
          properties: {
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            protocol: {
              const: 'udp',
              description:
                'Present on UDP results only; a result without it is TCP. UDP states follow `nmap -sU`: `open` (a datagram came back), `closed` (ICMP port-unreachable), `filtered` (another ICMP error), `open|filtered` (silence after retries).',
            },
            state: ref('PortState'),
            reason: ref('PortReason'),
            rttMs: {
              type: ['number', 'null'],
              minimum: 0,
              description: 'Round trip of the answering attempt; null without an answer.',
            },
            hint: {
              type: 'string',
              enum: HINTS,
              description: `Present only when the verdict deserves a second look. ${HINTS.map((h) => `\`${h}\`: ${HINT_TEXT[h]}`).join(' ')}`,
            },
          },
        },
        Egress: {
          type: 'object',
          additionalProperties: false,
          required: ['fixed', 'addresses', 'ipv6'],
          description: 'Where probes leave from.',
          properties: {
            fixed: {
              type: 'boolean',
              description: 'True when every probe leaves from `addresses`, so a firewall can allow them.',
            },
            addresses: {
              type: 'array',
              items: { type: 'string' },
              description: 'Fixed source addresses or CIDR ranges; empty when not fixed.',
            },
            ipv6: { type: 'boolean', description: 'Whether this deployment can dial IPv6 callers.' },
          },
        },
        CheckResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['ip', 'family', 'checkedFrom', 'timeoutMs', 'egress', 'results'],
          properties: {
            ip: { type: 'string', description: 'The address checked: always the address the request came from.' },
            family: { type: 'integer', enum: [4, 6] },
            checkedFrom: { type: 'string', description: 'Where the probe ran: the AWS region, or `local`.' },
            timeoutMs: { type: 'integer', minimum: 1, description: 'Per-port deadline used for this check.' },
            egress: ref('Egress'),
            results: {
              type: 'array',
              minItems: 1,
              maxItems: config.maxPorts,
              items: ref('PortResult'),
              description: 'One per distinct port, in the order first given.',
            },
          },
        },
        IpResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['ip', 'family', 'reverseDns', 'egress', 'endpoints'],
          properties: {
            ip: { type: 'string' },
            family: { type: 'integer', enum: [4, 6] },
            reverseDns: {
              type: ['string', 'null'],
              description: 'PTR name of a global address; null when none, on timeout, or for non-global addresses.',
            },
            egress: ref('Egress'),
            endpoints: ref('Endpoints'),
          },
        },
        Endpoints: {
          type: 'object',
          additionalProperties: false,
          required: ['ipv4', 'dualStack'],
          description:
            "This deployment's base URLs per family (no trailing slash), null where there is none. A check through `ipv4` always dials IPv4; through `dualStack` it dials the family the caller arrived over. A caller that reaches `dualStack` over IPv4 has no (preferred) IPv6.",
          properties: {
            ipv4: { type: ['string', 'null'], description: 'The IPv4-only endpoint.' },
            dualStack: {
              type: ['string', 'null'],
              description: 'The dual-stack endpoint; null when this deployment cannot dial IPv6 (default egress mode).',
            },
          },
        },
        RegionsResponse: {
          type: 'object',
          additionalProperties: false,
          required: ['regions'],
          properties: {
            regions: {
              type: 'array',
              minItems: 1,
              description: 'The region that answered first, then the others of its deployment.',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name', 'api'],
                properties: {
                  name: { type: 'string', description: 'As its checks report it in `checkedFrom`.' },
                  api: { type: 'string', pattern: '^https?://', description: "Base URL of the region's API." },
                },
              },
            },
          },
        },
        Problem: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'title', 'status', 'detail'],
          description: 'RFC 9457 problem details.',
          properties: {
            type: { type: 'string', pattern: '^urn:dialback:problem:[a-z-]+$' },
            title: { type: 'string' },
            status: { type: 'integer', minimum: 400, maximum: 599 },
            detail: { type: 'string', description: 'What went wrong, in words a person can act on.' },
            retryAfterSeconds: { type: 'integer', minimum: 0, description: 'On 429 and 503.' },
            requestId: {
              type: 'string',
              description: "Quote it when reporting a problem; it finds the request's log line.",
            },
          },
        },
      },
      headers: {
        'Cache-Control': { required: true, schema: { type: 'string', const: 'no-store' } },
        'X-Content-Type-Options': { required: true, schema: { type: 'string', const: 'nosniff' } },
        'Access-Control-Allow-Origin': {
          description: '`*` by default; the request origin when it is on the configured allow-list.',
          schema: { type: 'string' },
        },
        'Access-Control-Expose-Headers': {
          description: 'Headers a cross-origin page may read.',
          schema: { type: 'string', const: 'RateLimit, RateLimit-Policy, Retry-After' },
        },
        Vary: { description: '`Origin`, when CORS is restricted to named origins.', schema: { type: 'string' } },
        RateLimit: { required: true, ...RATE_LIMIT },
        'RateLimit-Policy': { required: true, ...RATE_LIMIT_POLICY },
        RateLimitIfChecked: { required: false, ...RATE_LIMIT },
        RateLimitPolicyIfChecked: { required: false, ...RATE_LIMIT_POLICY },
        'Retry-After': { required: true, description: 'Seconds to wait.', schema: { type: 'integer', minimum: 0 } },
        Allow: { required: true, schema: { type: 'string', const: 'GET, HEAD, OPTIONS' } },
        'Content-Security-Policy': {
          required: true,
          description: "`default-src 'none'` with the page's own inline style and script allowed by SHA-256 hash.",
          schema: { type: 'string', pattern: "^default-src 'none'; " },
        },
        'Referrer-Policy': { required: true, schema: { type: 'string', const: 'no-referrer' } },
        'Cross-Origin-Resource-Policy': {
          required: true,
          description: 'Any site may load the widget.',
          schema: { type: 'string', const: 'cross-origin' },
        },
        'Access-Control-Allow-Methods': { schema: { type: 'string', const: 'GET, OPTIONS' } },
        'Access-Control-Allow-Headers': { schema: { type: 'string' } },
        'Access-Control-Max-Age': { schema: { type: 'integer', minimum: 0 } },
      },
      responses: {
        BadRequest: problemResponse(
          `A malformed port or list, more than ${config.maxPorts} ports, a query longer than ${MAX_QUERY_LENGTH} characters, a malformed percent-escape, or an unreadable source address.`,
        ),
        Forbidden: problemResponse("The caller's address is not publicly routable (private, loopback, CGNAT, …)."),
        NotFound: problemResponse('No such path, or a deployment bundled without this file.'),
        MethodNotAllowed: problemResponse('Any method but GET, HEAD and OPTIONS, on any path.', {
          Allow: header('Allow'),
        }),
        NotAcceptable: problemResponse(
          'The `Accept` header refuses (q=0) every media type the path answers in. A header that only leaves a type unmentioned is disregarded.',
        ),
        RateLimited: problemResponse('The caller spent its budget; `Retry-After` says when the window reopens.', {
          'Retry-After': header('Retry-After'),
          ...RATE_HEADERS,
        }),
        Unavailable: problemResponse(
          'The rate limiter or the checker is unavailable; the service fails closed and checks nothing.',
          { 'Retry-After': header('Retry-After') },
        ),
        InternalError: problemResponse('A bug; the detail quotes the request id.'),
        Preflight: {
          description:
            'Preflight answer. The `Access-Control-Allow-*` and `Max-Age` headers appear when the request was a preflight (it carried `Access-Control-Request-Method`).',
          headers: {
            ...COMMON_HEADERS,
            Allow: header('Allow'),
            'Access-Control-Allow-Methods': header('Access-Control-Allow-Methods'),
            'Access-Control-Allow-Headers': header('Access-Control-Allow-Headers'),
            'Access-Control-Max-Age': header('Access-Control-Max-Age'),
          },
        },
      },
    },
  };
  withoutBodies(doc as Json);
  cache.set(config, doc);
  return doc;
}
