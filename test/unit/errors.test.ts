/**
 * The typed failures a caller sees: each one's name, problem `type` suffix, title, message and
 * the facts it carries (Retry-After, Allow, cause), and the HTTP status problem.ts answers it with.
 */
import { describe, expect, it } from 'vitest';
import { describeError, knownProblem } from '../../functions/api/problem.ts';
import { PortSyntaxError } from '../../functions/contract/wire.ts';
import {
  BadRequest,
  Forbidden,
  MethodNotAllowed,
  NotFound,
  RateLimited,
  ServiceError,
  Unavailable,
} from '../../functions/core/errors.ts';

const cases = [
  { error: new BadRequest('bad port'), name: 'BadRequest', kind: 'bad-request', title: 'Bad request', status: 400 },
  {
    error: new Forbidden('not public'),
    name: 'Forbidden',
    kind: 'address-not-public',
    title: 'Address not publicly routable',
    status: 403,
  },
  { error: new NotFound('no route'), name: 'NotFound', kind: 'not-found', title: 'Not found', status: 404 },
  {
    error: new MethodNotAllowed('use GET', ['GET', 'HEAD']),
    name: 'MethodNotAllowed',
    kind: 'method-not-allowed',
    title: 'Method not allowed',
    status: 405,
  },
  {
    error: new RateLimited('slow down', 42),
    name: 'RateLimited',
    kind: 'rate-limited',
    title: 'Rate limit reached',
    status: 429,
  },
  {
    error: new Unavailable('table down'),
    name: 'Unavailable',
    kind: 'unavailable',
    title: 'Service unavailable',
    status: 503,
  },
] as const;

describe('service errors', () => {
  it.each(cases)('$name has its name, kind, title and message', ({ error, name, kind, title }) => {
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.kind).toBe(kind);
    expect(error.title).toBe(title);
    expect(error.message).not.toBe('');
    expect(String(error)).toBe(`${name}: ${error.message}`);
  });

  it.each(cases)('$name carries its own HTTP status ($status)', ({ error, status }) => {
    expect(error.httpStatus).toBe(status);
  });

  it('cannot gain a new error class without its HTTP status: the compiler refuses one', () => {
    // @ts-expect-error httpStatus is abstract: a subclass that leaves it out does not compile,
    // so no new error can silently become a 500 (npm run typecheck fails if this compiles).
    class Statusless extends ServiceError {
      readonly kind = 'statusless';
      readonly title = 'Statusless';
    }
    expect(new Statusless('x')).toBeInstanceOf(ServiceError);
  });

  it('keeps each message as given', () => {
    expect(cases.map((c) => c.error.message)).toEqual([
      'bad port',
      'not public',
      'no route',
      'use GET',
      'slow down',
      'table down',
    ]);
  });

  it('gives every failure a distinct, URL-safe kind', () => {
    const kinds = cases.map((c) => c.error.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const kind of kinds) expect(kind).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });

  it('carries the allowed methods, the wait, and the cause', () => {
    expect(new MethodNotAllowed('use GET', ['GET', 'HEAD']).allow).toEqual(['GET', 'HEAD']);
    expect(new RateLimited('wait', 42).retryAfterSeconds).toBe(42);
    expect(new Unavailable('down').retryAfterSeconds).toBe(5);
    expect(new Unavailable('down', 30).retryAfterSeconds).toBe(30);
    const cause = new Error('ECONNREFUSED');
    const unavailable = new Unavailable('table down', 5, { cause });
    expect(unavailable.cause).toBe(cause);
    expect(new Unavailable('down').cause).toBeUndefined();
  });
});

describe('knownProblem', () => {
  it.each(cases)('answers $name with $status and its problem fields', ({ error, kind, title, status }) => {
    const answer = knownProblem(error, 'req-1', []);
    expect(answer?.status).toBe(status);
    expect(answer?.problem).toMatchObject({
      type: `urn:dialback:problem:${kind}`,
      title,
      status,
      detail: error.message,
      requestId: 'req-1',
    });
  });

  it('sends Allow for 405 and Retry-After for 429 and 503, and nothing extra otherwise', () => {
    expect(knownProblem(new MethodNotAllowed('use GET', ['GET', 'HEAD']), 'r', [])?.headers).toEqual({
      allow: 'GET, HEAD',
    });
    const limited = knownProblem(new RateLimited('wait', 42), 'r', []);
    expect(limited?.headers).toEqual({ 'retry-after': '42' });
    expect(limited?.problem.retryAfterSeconds).toBe(42);
    const unavailable = knownProblem(new Unavailable('down'), 'r', []);
    expect(unavailable?.headers).toEqual({ 'retry-after': '5' });
    expect(unavailable?.problem.retryAfterSeconds).toBe(5);
    const bad = knownProblem(new BadRequest('bad'), 'r', []);
    expect(bad?.headers).toEqual({});
    expect(bad?.problem).not.toHaveProperty('retryAfterSeconds');
  });

  it("answers a port the contract's grammar refuses as a 400 with the grammar's message", () => {
    const answer = knownProblem(new PortSyntaxError('"0x50" is not a TCP port'), 'r', []);
    expect(answer?.status).toBe(400);
    expect(answer?.problem).toMatchObject({
      type: 'urn:dialback:problem:bad-request',
      detail: '"0x50" is not a TCP port',
    });
  });

  it('leaves anything that is not a service error to the caller as a bug', () => {
    expect(knownProblem(new Error('boom'), 'r', [])).toBeUndefined();
  });

  it('logs the error and cause names and the redacted messages', () => {
    const error = new Unavailable('table at 203.0.113.9 down', 5, { cause: new TypeError('socket 203.0.113.9') });
    expect(describeError(error)).toMatchObject({
      errorType: 'Unavailable',
      errorMessage: 'table at <address> down',
      causeType: 'TypeError',
      causeMessage: 'socket <address>',
    });
  });
});
