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

/** The request itself is malformed: a bad port, list or route parameter. */
export class BadRequest extends ServiceError {
  override readonly name = 'BadRequest';
  readonly httpStatus = 400;
  readonly kind = 'bad-request';
  readonly title = 'Bad request';
}

/** The caller's address may not be probed (not publicly routable). */
export class Forbidden extends ServiceError {
  override readonly name = 'Forbidden';
  readonly httpStatus = 403;
  readonly kind = 'address-not-public';
  readonly title = 'Address not publicly routable';
}

/** No such route. */
export class NotFound extends ServiceError {
  override readonly name = 'NotFound';
  readonly httpStatus = 404;
  readonly kind = 'not-found';
  readonly title = 'Not found';
}

/** The route exists but not for this method. */
export class MethodNotAllowed extends ServiceError {
  override readonly name = 'MethodNotAllowed';
  readonly httpStatus = 405;
  readonly kind = 'method-not-allowed';
  readonly title = 'Method not allowed';
  readonly allow: readonly string[];
  constructor(message: string, allow: readonly string[]) {
    super(message);
    this.allow = allow;
  }
}

/** The Accept header refuses (q=0) every media type the route can answer in. */
export class NotAcceptable extends ServiceError {
  override readonly name = 'NotAcceptable';
  readonly httpStatus = 406;
  readonly kind = 'not-acceptable';
  readonly title = 'Not acceptable';
}

/** HTTP-level refusals, by status, as the hosting adapter answers them. */
const PROTOCOL_REFUSALS = {
  400: { kind: 'malformed-request', title: 'Malformed request' },
  408: { kind: 'request-timeout', title: 'Request timeout' },
  413: { kind: 'too-large', title: 'Payload too large' },
  431: { kind: 'headers-too-large', title: 'Request header fields too large' },
  501: { kind: 'not-implemented', title: 'Not implemented' },
} as const;

/**
 * A request refused by the HTTP layer before any route sees it: too large, too slow, malformed,
 * or a method the server does not implement (the local adapter; API Gateway does this itself).
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
export class RateLimited extends ServiceError {
  override readonly name = 'RateLimited';
  readonly httpStatus = 429;
  readonly kind = 'rate-limited';
  readonly title = 'Rate limit reached';
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
export class Unavailable extends ServiceError {
  override readonly name = 'Unavailable';
  readonly httpStatus = 503;
  readonly kind = 'unavailable';
  readonly title = 'Service unavailable';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 5, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
