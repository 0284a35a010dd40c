/**
 * The service's small set of typed failures. Each names what went wrong in words a caller can
 * act on; `functions/api/problem.ts` is the one place that turns them into HTTP responses.
 * Anything else thrown is a bug and becomes a bare 500 with its cause only in the log.
 */

/** Base of every failure that is shown to the caller. */
export abstract class ServiceError extends Error {
  /** A short, stable, URL-safe name used as the problem `type` suffix. */
  abstract readonly kind: string;
  /** One-line summary (RFC 9457 `title`). */
  abstract readonly title: string;
  /** The HTTP status it is answered with: abstract, so a new error cannot fall through to a 500. */
  abstract readonly httpStatus: number;
}

/**
 * A `ServiceError` with the fixed facts of one kind of failure: its class name (what the log
 * records), status, problem type suffix and title. Each exported kind extends one.
 */
function failure(name: string, httpStatus: number, kind: string, title: string) {
  return class extends ServiceError {
    override readonly name = name;
    readonly httpStatus = httpStatus;
    readonly kind = kind;
    readonly title = title;
  };
}

/** The request itself is malformed: a bad port, list or route parameter. */
export class BadRequest extends failure('BadRequest', 400, 'bad-request', 'Bad request') {}

/** The caller's address may not be probed (not publicly routable). */
export class Forbidden extends failure('Forbidden', 403, 'address-not-public', 'Address not publicly routable') {}

/** No such route. */
export class NotFound extends failure('NotFound', 404, 'not-found', 'Not found') {}

/** The route exists but not for this method. */
export class MethodNotAllowed extends failure('MethodNotAllowed', 405, 'method-not-allowed', 'Method not allowed') {
  readonly allow: readonly string[];
  constructor(message: string, allow: readonly string[]) {
    super(message);
    this.allow = allow;
  }
}

/** The Accept header refuses (q=0) every media type the route can answer in. */
export class NotAcceptable extends failure('NotAcceptable', 406, 'not-acceptable', 'Not acceptable') {}

/** HTTP-level refusals, by status, as the hosting adapter answers them. */
const PROTOCOL_REFUSALS = {
  400: { kind: 'malformed-request', title: 'Malformed request' },
  403: { kind: 'untrusted-proxy', title: 'Request came through an untrusted proxy' },
  408: { kind: 'request-timeout', title: 'Request timeout' },
  413: { kind: 'too-large', title: 'Payload too large' },
  431: { kind: 'headers-too-large', title: 'Request header fields too large' },
  501: { kind: 'not-implemented', title: 'Not implemented' },
} as const;

/**
 * A request refused by the HTTP layer before any route sees it: too large, too slow, malformed,
 * a method the server does not implement, or forwarded by a proxy it does not trust (the local
 * adapter; API Gateway does the rest itself).
 */
export class ProtocolRefused extends ServiceError {
  override readonly name = 'ProtocolRefused';
  readonly kind: string;
  readonly title: string;
  readonly httpStatus: keyof typeof PROTOCOL_REFUSALS;
  constructor(status: keyof typeof PROTOCOL_REFUSALS, message: string) {
    super(message);
    this.httpStatus = status;
    ({ kind: this.kind, title: this.title } = PROTOCOL_REFUSALS[status]);
  }
}

/** The caller spent its budget; `retryAfterSeconds` says when the tightest window reopens. */
export class RateLimited extends failure('RateLimited', 429, 'rate-limited', 'Rate limit reached') {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The service cannot answer truthfully right now: the rate-limit table is down or slow, or the
 * machine is out of sockets. It fails closed: no probe is reported as a port state.
 */
export class Unavailable extends failure('Unavailable', 503, 'unavailable', 'Service unavailable') {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 5, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
