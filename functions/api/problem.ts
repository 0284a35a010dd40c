/**
 * The one place where failures become HTTP responses (RFC 9457 problem+json). Following
 * middy's http-error-handler: typed service errors are shown to the caller with their detail;
 * anything else is a bare 500 whose cause goes only to the log.
 */

import { PortSyntaxError, type Problem, printable } from '../contract/wire.ts';
import { BadRequest, MethodNotAllowed, RateLimited, ServiceError, Unavailable } from '../core/errors.ts';
import { redactAddresses } from '../core/log.ts';
import { LocalProbeError } from '../core/probe.ts';
import { RateLimitExceeded, type RateWindow } from '../core/rate-limiter.ts';
import { type HttpResponse, json, text } from './http.ts';
import { rateLimitHeaders } from './rate-headers.ts';

const PROBLEM_TYPE = 'urn:dialback:problem:';

/** Facts about a failure worth logging: never its message text unredacted, never an address. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const cause = error.cause instanceof Error ? error.cause : undefined;
  return {
    errorType: error.name,
    errorCode: (error as NodeJS.ErrnoException).code ?? (cause as NodeJS.ErrnoException | undefined)?.code,
    errorMessage: redactAddresses(error.message),
    causeType: cause?.name,
    causeMessage: cause === undefined ? undefined : redactAddresses(cause.message),
  };
}

/** A known failure as the status, headers and body it is answered with. */
export interface ProblemAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly problem: Problem;
}

/**
 * Maps a typed service failure (or a local probe failure, or a port the contract's grammar
 * refuses) to its answer; `undefined` for anything else, which is a bug. The page renders the same answer as HTML.
 */
export function knownProblem(
  error: unknown,
  requestId: string,
  windows: readonly RateWindow[],
): ProblemAnswer | undefined {
  const known =
    error instanceof ServiceError
      ? error
      : error instanceof LocalProbeError
        ? new Unavailable('The checker is out of network resources right now; try again in a few seconds.', 5)
        : error instanceof PortSyntaxError
          ? new BadRequest(error.message, { cause: error })
          : undefined;
  if (known === undefined) return undefined;
  const status = known.httpStatus;
  const headers: Record<string, string> = {};
  let retryAfterSeconds: number | undefined;
  if (known instanceof MethodNotAllowed) headers.allow = known.allow.join(', ');
  if (known instanceof RateLimited || known instanceof Unavailable) {
    retryAfterSeconds = known.retryAfterSeconds;
    headers['retry-after'] = String(retryAfterSeconds);
  }
  if (known instanceof RateLimitExceeded) Object.assign(headers, rateLimitHeaders(known.rate, windows));
  const problem: Problem = {
    type: `${PROBLEM_TYPE}${known.kind}`,
    title: known.title,
    status,
    detail: known.message,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    requestId,
  };
  return { status, headers, problem };
}

/**
 * The problem as plain text, for terminal clients that get check results as a table: a person
 * reading curl's output should not have to read one-line JSON for the error.
 */
export function problemText(problem: Problem): string {
  const id = problem.requestId === undefined ? '' : `Request id: ${problem.requestId}\n`;
  // JSON escapes control characters; text must not pass a caller's (in a path, say) to a terminal.
  return `${problem.title} (HTTP ${problem.status}): ${printable(problem.detail, 1000)}\n${id}`;
}

/**
 * Turns any thrown value into the response the caller gets: problem+json, or its plain-text
 * form when the caller prefers text (`asText`).
 */
export function problemResponse(
  error: unknown,
  requestId: string,
  windows: readonly RateWindow[],
  asText = false,
): HttpResponse {
  const answer = knownProblem(error, requestId, windows) ?? {
    status: 500,
    headers: {},
    problem: {
      type: `${PROBLEM_TYPE}internal`,
      title: 'Internal error',
      status: 500,
      detail: `Something went wrong on our side. Quote request id ${requestId} if you report it.`,
      requestId,
    },
  };
  if (asText) return text(answer.status, problemText(answer.problem), answer.headers);
  const contentType = { 'content-type': 'application/problem+json; charset=utf-8' };
  return json(answer.status, answer.problem, { ...contentType, ...answer.headers });
}
