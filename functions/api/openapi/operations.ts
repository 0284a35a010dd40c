/**
 * Each route's OpenAPI path item, keyed by the router's own route names (`functions/api/routes.ts`):
 * the type demands one per route, so a route added without its documentation does not compile.
 * Kept out of the routes' modules because the document is built at bundle time and served as a
 * file; the function's code never carries it.
 */
import { TOKEN_PATTERN } from '../../contract/dial-proof.ts';
import { MAX_PORT_LIST_LENGTH, PORT_LIST_PATTERN, PORT_PATTERN } from '../../contract/wire.ts';
import type { RouteName } from '../routes.ts';
import {
  COMMON_HEADERS,
  header,
  type Json,
  PAGE_HEADERS,
  PAGE_RATE_HEADERS,
  pageProblem,
  RATE_HEADERS,
  ref,
  response,
} from './components.ts';
import type { OpenApiLimits } from './limits.ts';

const PORT_PARAMETER = {
  name: 'port',
  in: 'path',
  required: true,
  description: 'A TCP port, 1–65535, plain ASCII decimal without leading zeros.',
  schema: { type: 'string', pattern: `^${PORT_PATTERN}$` },
  example: '443',
};
const TOKEN_PARAMETER = {
  name: 'token',
  in: 'query',
  required: false,
  description:
    'Dial proof: after the handshake the probe writes one line, `DIALBACK <token>\\n`, so your listener can tell the connection reached this machine.',
  schema: { type: 'string', pattern: TOKEN_PATTERN.source },
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

/** What a GET answered in JSON (`schema`), or in plain text for terminal clients, may answer. */
function jsonOrText(description: string, schema: string): Json {
  return {
    '200': {
      description,
      headers: COMMON_HEADERS,
      content: { 'application/json': { schema: ref(schema) }, 'text/plain': { schema: { type: 'string' } } },
    },
    '400': response('BadRequest'),
    '500': response('InternalError'),
  };
}

/** What a check's GET answers. */
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

/** Marks a HEAD's responses as the GET's until `withoutBodies` resolves them. */
const HEAD_OF = 'x-head-of-get';

/** Rewrites every HEAD operation's responses as the GET's with their `content` removed. */
export function withoutBodies(doc: Json): void {
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

/** Every route's path item, built for a deployment's limits. */
export const PATH_ITEMS: { readonly [Name in RouteName]: (limits: OpenApiLimits) => Json } = {
  '/check/{port}': () =>
    pathItem(
      'checkPort',
      {
        tags: ['check'],
        summary: "Check one TCP port on the caller's address",
        parameters: [TOKEN_PARAMETER],
        responses: checkResponses(),
      },
      [PORT_PARAMETER],
      checkHeadResponses(),
    ),
  '/check/udp/{port}': () =>
    pathItem(
      'checkUdpPort',
      {
        tags: ['check'],
        summary: "Check one UDP port on the caller's address",
        description:
          'Sends the port a small protocol request (DNS, NTP, QUIC, OpenVPN, STUN, Minecraft Bedrock, Source A2S; an empty datagram elsewhere), retried until an answer, an ICMP error or the deadline. With `token`, the datagram carries the dial-proof line instead (`dialback listen --udp`).',
        parameters: [TOKEN_PARAMETER],
        responses: checkResponses(),
      },
      [
        {
          ...PORT_PARAMETER,
          description: 'A UDP port, 1–65535, plain ASCII decimal without leading zeros.',
          example: '51820',
        },
      ],
      checkHeadResponses(),
    ),
  '/check': (limits) =>
    pathItem(
      'checkPorts',
      {
        tags: ['check'],
        summary: `Check up to ${limits.maxPorts} distinct ports at once, TCP (\`ports\`) and UDP (\`udp\`)`,
        description:
          'Give `ports`, `udp` or both; together they name at most the per-request maximum. Results list the TCP ports first.',
        parameters: [
          {
            name: 'ports',
            in: 'query',
            required: false,
            description: `Comma-separated TCP ports, given once; duplicates count once; at most ${limits.maxPorts} distinct (with \`udp\`).`,
            schema: { type: 'string', pattern: `^${PORT_LIST_PATTERN}$`, maxLength: MAX_PORT_LIST_LENGTH },
            example: '22,80,443',
          },
          {
            name: 'udp',
            in: 'query',
            required: false,
            description: `Comma-separated UDP ports, in the same grammar as \`ports\`; at most ${limits.maxPorts} distinct (with \`ports\`).`,
            schema: { type: 'string', pattern: `^${PORT_LIST_PATTERN}$`, maxLength: MAX_PORT_LIST_LENGTH },
            example: '53,51820',
          },
          TOKEN_PARAMETER,
        ],
        responses: checkResponses(),
      },
      [],
      checkHeadResponses(),
    ),
  '/ip': () =>
    pathItem('whoami', {
      tags: ['check'],
      summary:
        "The address the service sees, its family, its reverse-DNS name, who holds it (ASN, organisation, country, from an offline dataset) and this deployment's endpoints",
      responses: jsonOrText(
        'JSON by default. As text for terminal clients: the address alone on the first line, then the holder line ("AS3320 Deutsche Telekom AG · DE"), the hosting/VPN/relay note and the local-check notice where they apply.',
        'IpResponse',
      ),
    }),
  '/': () =>
    pathItem('page', {
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
        TOKEN_PARAMETER,
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
  '/widget.js': () =>
    pathItem('widget', {
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
  '/dialback.mjs': () =>
    pathItem('cli', {
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
  '/openapi.json': () =>
    pathItem('openapi', {
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
        '404': response('NotFound'),
        '500': response('InternalError'),
      },
    }),
  '/regions': () =>
    pathItem('regions', {
      tags: ['check'],
      summary: 'Where checks can come from: every region of this deployment and its API',
      description:
        'A multi-region deployment answers here, on its primary, with every region, the primary first; check from each by calling its `api`. Any other deployment lists itself alone.',
      responses: jsonOrText('JSON by default; one `NAME URL` line per region for terminal clients.', 'RegionsResponse'),
    }),
};
