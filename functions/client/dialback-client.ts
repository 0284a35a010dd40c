/**
 * The typed Dialback client: one small module over `fetch`, with no dependencies, so the same
 * code runs in browsers (the widget bundles it) and in Node (the CLI imports it). The bodies it
 * returns are typed with the very types the handler builds them from.
 */

import { type RegionChecks, type RegionOutcome, selectRegions } from '../contract/regions.ts';
import {
  type CheckResponse,
  type IpResponse,
  PORT_STATES,
  type PortReason,
  type PortResult,
  type PortState,
  type Problem,
  type Region,
  type RegionsResponse,
} from '../contract/wire.ts';

export type { RegionChecks, RegionOutcome } from '../contract/regions.ts';
export type { CheckResponse, IpResponse, PortReason, PortResult, PortState, Problem, Region, RegionsResponse };

/** Where a caller stands in one rate-limit window, read from the `RateLimit` header. */
export interface RateStanding {
  /** The window's name, e.g. `minute` or `day`. */
  readonly name: string;
  readonly remaining: number;
  /** Seconds until the window resets. */
  readonly resetSeconds: number;
}

/** A successful answer: the body, and the caller's rate-limit standing when the API sent one. */
export interface Answer<T> {
  readonly data: T;
  readonly rateLimit: readonly RateStanding[];
}

/** How to reach the API. */
export interface ClientOptions {
  /** Base URL, e.g. `https://abc.execute-api.eu-central-1.amazonaws.com` or `http://127.0.0.1:8787`. */
  readonly api: string;
  /** A `fetch` to use instead of the global one (tests, proxies). */
  readonly fetch?: typeof fetch;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** Options of a check. */
export interface CheckOptions extends CallOptions {
  /**
   * A one-time dial-proof token (16–64 of `A-Z a-z 0-9 - _`): the checker then writes
   * `DIALBACK <token>` after the handshake, so a listener can tell the connection reached it.
   */
  readonly token?: string;
  /** UDP ports to check as well (`udp=`); the TCP `ports` may then be empty. */
  readonly udp?: readonly number[];
}

/** Options of a check from several regions: TCP ports only (the regions view has no UDP rows). */
export interface RegionsCheckOptions extends Omit<CheckOptions, 'udp'> {
  /** Region names to check from, in this order; every region `/regions` lists when absent. */
  readonly from?: readonly string[];
  /** How to word a region's failure (the CLI's own explanations); the error's message when absent. */
  readonly describeFailure?: (error: unknown, api: string) => string;
}

/** A failed call: an HTTP error with its problem details, or no answer at all (`status` 0). */
export class DialbackError extends Error {
  override readonly name: string = 'DialbackError';
  /** HTTP status, or 0 when no response arrived (network failure, CORS refusal, abort). */
  readonly status: number;
  /** The RFC 9457 body, when the API sent one. */
  readonly problem: Problem | undefined;
  /** Seconds to wait before retrying (429 and 503), from `Retry-After` or the problem body. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    message: string,
    status: number,
    problem: Problem | undefined,
    retryAfterSeconds: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The URL answered, but not like a Dialback API: HTML, text that is not JSON, JSON of another
 * shape, or an error without problem details. Usually a wrong `api` URL.
 */
export class NotDialbackError extends DialbackError {
  override readonly name: string = 'NotDialbackError';
}

/** The client's calls. */
export interface DialbackClient {
  /** Checks one or more ports on the caller's own address (`GET /check?ports=`, with `udp=` for UDP). */
  check(ports: readonly number[], options?: CheckOptions): Promise<Answer<CheckResponse>>;
  /** The address the service sees (`GET /ip`). */
  ip(options?: CallOptions): Promise<Answer<IpResponse>>;
  /** Where checks can come from (`GET /regions`): every region, the primary first. */
  regions(options?: CallOptions): Promise<Answer<RegionsResponse>>;
  /**
   * Checks `ports` from every region `/regions` lists (or those in `from`), all at once, each
   * through its own region's API and budget. Resolves with one outcome per region: a region
   * that fails is an error outcome, never a rejection. Rejects only when `/regions` itself
   * fails, or `from` names a region that is not listed (`UnknownRegion`).
   */
  checkRegions(ports: readonly number[], options?: RegionsCheckOptions): Promise<RegionChecks>;
}

/** Parses `RateLimit: "minute";r=29;t=41, "day";r=499;t=3600` (draft-ietf-httpapi-ratelimit-headers). */
export function parseRateLimit(header: string | null): RateStanding[] {
  if (header === null) return [];
  const standings: RateStanding[] = [];
  for (const item of header.split(',')) {
    const [rawName = '', ...params] = item.split(';').map((part) => part.trim());
    const name = rawName.replace(/^"|"$/g, '');
    const value = (key: string): number | undefined => {
      const found = params.find((p) => p.startsWith(`${key}=`));
      const n = found === undefined ? Number.NaN : Number(found.slice(key.length + 1));
      return Number.isFinite(n) ? n : undefined;
    };
    const remaining = value('r');
    const resetSeconds = value('t');
    if (name !== '' && remaining !== undefined && resetSeconds !== undefined) {
      standings.push({ name, remaining, resetSeconds });
    }
  }
  return standings;
}

/** Seconds from a `Retry-After` header: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.title === 'string' && typeof v.status === 'number' && typeof v.detail === 'string';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function isEgress(value: unknown): boolean {
  return isObject(value) && typeof value.fixed === 'boolean' && Array.isArray(value.addresses);
}

/** Enough of `CheckResponse` to render it: a wrong URL's JSON must not crash the caller later. */
export function isCheckResponse(value: unknown): value is CheckResponse {
  return (
    isObject(value) &&
    typeof value.ip === 'string' &&
    (value.family === 4 || value.family === 6) &&
    typeof value.checkedFrom === 'string' &&
    typeof value.timeoutMs === 'number' &&
    isEgress(value.egress) &&
    Array.isArray(value.results) &&
    value.results.every(
      (r: unknown) =>
        isObject(r) &&
        typeof r.port === 'number' &&
        (PORT_STATES as readonly unknown[]).includes(r.state) &&
        typeof r.reason === 'string' &&
        (r.protocol === undefined || r.protocol === 'udp') &&
        (r.rttMs === null || typeof r.rttMs === 'number'),
    )
  );
}

/** Enough of `IpResponse` to show it. */
export function isIpResponse(value: unknown): value is IpResponse {
  return (
    isObject(value) &&
    typeof value.ip === 'string' &&
    (value.family === 4 || value.family === 6) &&
    (value.reverseDns === null || typeof value.reverseDns === 'string') &&
    isEgress(value.egress)
  );
}

/** Enough of `RegionsResponse` to fan out: a name and an API URL per region, at least one. */
export function isRegionsResponse(value: unknown): value is RegionsResponse {
  return (
    isObject(value) &&
    Array.isArray(value.regions) &&
    value.regions.length > 0 &&
    value.regions.every((r: unknown) => isObject(r) && typeof r.name === 'string' && typeof r.api === 'string')
  );
}

function describeBody(response: Response): string {
  const type = response.headers.get('content-type')?.split(';')[0]?.trim();
  return `HTTP ${response.status}${type ? `, ${type}` : ''}`;
}

async function failure(response: Response, url: string): Promise<DialbackError> {
  let problem: Problem | undefined;
  try {
    const body: unknown = await response.json();
    if (isProblem(body)) problem = body;
  } catch {
    // A proxy's HTML error page, or an empty body: keep the status alone.
  }
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after')) ?? problem?.retryAfterSeconds;
  if (problem === undefined) {
    // Every error of a Dialback API carries problem details; a bare one came from something else.
    const message = `${url} answered ${describeBody(response)} without problem details.`;
    return new NotDialbackError(message, response.status, undefined, retryAfterSeconds);
  }
  return new DialbackError(problem.detail, response.status, problem, retryAfterSeconds);
}

/** Builds a client for one API base URL. */
export function createClient(options: ClientOptions): DialbackClient {
  const base = options.api.replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  const get = async <T>(
    path: string,
    call: CallOptions | undefined,
    valid: (body: unknown) => body is T,
  ): Promise<Answer<T>> => {
    const url = `${base}${path}`;
    let response: Response;
    try {
      response = await doFetch(url, {
        headers: { accept: 'application/json' },
        ...(call?.signal === undefined ? {} : { signal: call.signal }),
      });
    } catch (error) {
      // Node's fetch says only "fetch failed"; the cause has the socket error (ECONNREFUSED, …).
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const why = [cause?.code, cause?.message, (error as Error).message].find((w) => typeof w === 'string');
      throw new DialbackError(`Could not reach the Dialback API at ${base} (${why}).`, 0, undefined, undefined, {
        cause: error,
      });
    }
    if (!response.ok) throw await failure(response, url);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    if (!valid(body)) {
      throw new NotDialbackError(
        `${url} answered ${describeBody(response)}, not a Dialback API response.`,
        response.status,
        undefined,
        undefined,
      );
    }
    return { data: body, rateLimit: parseRateLimit(response.headers.get('ratelimit')) };
  };

  const check = (ports: readonly number[], call?: CheckOptions): Promise<Answer<CheckResponse>> => {
    const udp = call?.udp ?? [];
    if (ports.length === 0 && udp.length === 0) {
      return Promise.reject(new RangeError('check() needs at least one port'));
    }
    const query = [
      ...(ports.length === 0 ? [] : [`ports=${ports.join(',')}`]),
      ...(udp.length === 0 ? [] : [`udp=${udp.join(',')}`]),
      ...(call?.token === undefined ? [] : [`token=${encodeURIComponent(call.token)}`]),
    ];
    return get(`/check?${query.join('&')}`, call, isCheckResponse);
  };
  const regions = (call?: CallOptions): Promise<Answer<RegionsResponse>> => get('/regions', call, isRegionsResponse);

  return {
    check,
    ip: (call) => get('/ip', call, isIpResponse),
    regions,
    checkRegions: async (ports, call) => {
      if (ports.length === 0) throw new RangeError('checkRegions() needs at least one port');
      const listed = (await regions(call)).data.regions;
      const chosen = selectRegions(listed, call?.from ?? 'all');
      const { from: _from, describeFailure, ...checkOptions } = call ?? {};
      const outcomes = await checkFromRegions(chosen, ports, options, checkOptions, describeFailure);
      return { ports: [...ports], outcomes };
    },
  };
}

/**
 * Checks `ports` from each of `regions` at once, each through its own API (`options` says how
 * to reach them, e.g. which `fetch`). Never rejects: a region that fails is an error outcome,
 * worded by `describeFailure` when given.
 */
export function checkFromRegions(
  regions: readonly Region[],
  ports: readonly number[],
  options: Omit<ClientOptions, 'api'> = {},
  call: CheckOptions = {},
  describeFailure?: (error: unknown, api: string) => string,
): Promise<RegionOutcome[]> {
  return Promise.all(
    regions.map(async (region): Promise<RegionOutcome> => {
      try {
        const { data } = await createClient({ ...options, api: region.api }).check(ports, call);
        return { region, ok: true, check: data };
      } catch (error) {
        const failure = regionFailure(error);
        const message = describeFailure === undefined ? failure.message : describeFailure(error, region.api);
        return { region, ok: false, error: { ...failure, message } };
      }
    }),
  );
}

function regionFailure(error: unknown): { status: number; message: string; retryAfterSeconds?: number } {
  if (!(error instanceof DialbackError)) return { status: 0, message: String((error as Error)?.message ?? error) };
  return {
    status: error.status,
    // A NotDialbackError's message already names the URL and the status.
    message:
      error.status === 0 || error instanceof NotDialbackError
        ? error.message
        : `HTTP ${error.status}: ${error.message}`,
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  };
}
