/**
 * The OpenAPI document's shared parts: the `$ref` helpers, the headers every response carries,
 * the problem responses and the schemas of the wire contract (`contract/wire.ts`), whose lists
 * (states, reasons, hints) are complete by type there, so a new state is a compile error here.
 */
import {
  HINT_TEXT,
  REASON_MEANING,
  STATE_MEANING,
  UDP_REASON_MEANING,
  UDP_STATE_MEANING,
} from '../../contract/verdict-text.ts';
import { NETWORK_KINDS, PORT_REASONS, PORT_STATES, type PortHint } from '../../contract/wire.ts';
import { MAX_QUERY_LENGTH } from '../http.ts';
import type { OpenApiLimits } from './limits.ts';

/** `IpResponse`'s fields on who holds the address (functions/core/network-holder.ts). */
const HOLDER_PROPERTIES = {
  asn: {
    type: ['integer', 'null'],
    minimum: 0,
    description:
      'The autonomous system holding the address, from an offline IP-to-ASN dataset shipped with the deployment (no lookup service is asked); null for non-global addresses and addresses the dataset does not cover.',
  },
  org: {
    type: ['string', 'null'],
    description: 'The AS\'s holder as the dataset names it, e.g. "Deutsche Telekom AG".',
  },
  country: {
    type: ['string', 'null'],
    pattern: '^[A-Z]{2}$',
    description: 'ISO 3166-1 alpha-2 country of the address (geofeeds, then whois, then the AS registration).',
  },
  networkKind: {
    type: ['string', 'null'],
    enum: [...NETWORK_KINDS, null],
    description:
      "Set when the holder is on the documented list of hosting/cloud, VPN and privacy-relay networks: the check then reaches that network, not the caller's router. Null otherwise; never guessed from the name.",
  },
  dataDate: {
    type: ['string', 'null'],
    format: 'date',
    description: 'Date of the dataset behind asn, org and country; null when no lookup was made.',
  },
} as const;

/** A fragment of the document: plain JSON. */
export type Json = Record<string, unknown>;

const STATES = PORT_STATES;
const REASONS = PORT_REASONS;
const HINTS = Object.keys(HINT_TEXT) as PortHint[];

/** A `$ref` to a schema. */
export const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
/** A `$ref` to a header. */
export const header = (name: string): { $ref: string } => ({ $ref: `#/components/headers/${name}` });
/** A `$ref` to a shared response. */
export const response = (name: string): { $ref: string } => ({ $ref: `#/components/responses/${name}` });

/** Headers on every response the function writes. */
export const COMMON_HEADERS = {
  'Cache-Control': header('Cache-Control'),
  'X-Content-Type-Options': header('X-Content-Type-Options'),
  'Access-Control-Allow-Origin': header('Access-Control-Allow-Origin'),
  'Access-Control-Expose-Headers': header('Access-Control-Expose-Headers'),
  Vary: header('Vary'),
};

/** Rate-limit headers: present on every charged or refused check. */
export const RATE_HEADERS = {
  RateLimit: header('RateLimit'),
  'RateLimit-Policy': header('RateLimit-Policy'),
};

/** Present only when the request spent budget (the page without `ports`, IPv6 without IPv6 egress: absent). */
export const PAGE_RATE_HEADERS = {
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
export function pageProblem(description: string, extraHeaders: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    description,
    headers: { ...COMMON_HEADERS, ...PAGE_HEADERS, ...extraHeaders },
    content: { 'text/html': { schema: { type: 'string' } } },
  };
}

/** The page's own security headers. */
export const PAGE_HEADERS = {
  'Content-Security-Policy': header('Content-Security-Policy'),
  'Referrer-Policy': header('Referrer-Policy'),
};

/** The wire contract's schemas: a verdict and its parts. */
function verdictSchemas(): Json {
  return {
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
  };
}

/** The schemas of each route's JSON body and of a problem. */
function bodySchemas(limits: OpenApiLimits): Json {
  return {
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
          maxItems: limits.maxPorts,
          items: ref('PortResult'),
          description: 'One per distinct port, in the order first given.',
        },
      },
    },
    IpResponse: {
      type: 'object',
      additionalProperties: false,
      required: ['ip', 'family', 'reverseDns', 'egress', 'endpoints', ...Object.keys(HOLDER_PROPERTIES)],
      properties: {
        ip: { type: 'string' },
        family: { type: 'integer', enum: [4, 6] },
        reverseDns: {
          type: ['string', 'null'],
          description: 'PTR name of a global address; null when none, on timeout, or for non-global addresses.',
        },
        egress: ref('Egress'),
        endpoints: ref('Endpoints'),
        ...HOLDER_PROPERTIES,
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
  };
}

/** Every header the document names, once. */
const HEADERS: Json = {
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
};

/** The responses several paths share. */
function sharedResponses(limits: OpenApiLimits): Json {
  return {
    BadRequest: problemResponse(
      `A malformed port or list, more than ${limits.maxPorts} ports, a query longer than ${MAX_QUERY_LENGTH} characters, a malformed percent-escape, or an unreadable source address.`,
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
  };
}

/** `components` of the document for a deployment's limits. */
export function components(limits: OpenApiLimits): Json {
  return {
    schemas: { ...verdictSchemas(), ...bodySchemas(limits) },
    headers: HEADERS,
    responses: sharedResponses(limits),
  };
}
