/**
 * The whole service on one machine: embedded table (unless an endpoint is configured), the
 * real dependencies, the real handler, and the localhost adapter.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createDeps } from '../../functions/api/deps.ts';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import type { HttpResponse } from '../../functions/api/http.ts';
import { localHolders } from '../../functions/build/holders-data.ts';
import { buildWebAssets } from '../../functions/build/served-code.ts';
import type { Endpoints } from '../../functions/contract/wire.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { Unavailable } from '../../functions/core/errors.ts';
import type { Log } from '../../functions/core/log.ts';
import type { TargetPolicy } from '../../functions/core/source-address.ts';
import { type EmbeddedTable, startEmbeddedTable } from './embedded-table.ts';
import type { ProxyTrust } from './forwarded.ts';
import { createInFlightGate, type InFlightLimits } from './in-flight.ts';
import { type LocalServer, refusal, startLocalServer } from './server.ts';

/** How often the embedded table deletes expired counters; a minute window lives two minutes. */
const LOCAL_SWEEP_EVERY_MS = 60_000;

/** Options of the local app, as the command line gives them. */
export interface LocalAppOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: string;
  readonly port: number;
  /** Dial non-public callers even when bound to a non-loopback address (labs only). */
  readonly allowNonPublic: boolean;
  /**
   * An IPv6 address to serve on as well, on the same port, as the dual-stack endpoint of the
   * pair a deployment in vpc mode has (`--ipv6-host`). `host` is then the IPv4-only one.
   */
  readonly ipv6Host?: string;
  /**
   * A reverse proxy in front (`--trust-proxy`): the caller is the client its header names.
   * Only public callers are then checked (unless `allowNonPublic`), wherever the server binds.
   */
  readonly trustProxy?: ProxyTrust;
  /**
   * Keep the embedded table's counters in this directory (`--data-dir`), so a restart hands
   * out no fresh budget; in memory when absent.
   */
  readonly dataDir?: string;
  /** Requests in flight per caller and in total, across both listeners (in-flight.ts has the defaults). */
  readonly inFlight?: InFlightLimits;
  readonly log?: Log;
  /**
   * Called once the listeners are up, before the handler is built: requests in that gap get
   * 503 with `Retry-After`. Tests use it to call in the gap.
   */
  readonly whenListening?: (url: string) => Promise<void>;
  /** Sees every event and the function's response to it (tests validate them against the OpenAPI document). */
  readonly observe?: (event: APIGatewayProxyEventV2, response: HttpResponse) => void;
}

/** A running local app. */
export interface LocalApp {
  /** Where it listens on `host`: the IPv4-only endpoint when `host` is an IPv4 address. */
  readonly url: string;
  /** The endpoints `/ip` and the page announce (the served URLs unless the environment names others). */
  readonly endpoints: Endpoints;
  readonly port: number;
  /** The embedded table's endpoint, or the configured one. */
  readonly tableEndpoint: string | undefined;
  readonly policy: TargetPolicy;
  /** Lets in-flight requests finish, then stops the server and the embedded table. */
  close(): Promise<void>;
}

/**
 * Which callers the local server may dial. Bound to loopback, loopback callers are allowed so
 * a first `curl 127.0.0.1:8787/check/22` works; bound elsewhere, only public callers, unless
 * `--allow-non-public` says otherwise. Behind a trusted proxy the callers are the proxy's
 * clients, not this machine: only public ones. Deployed mode never comes through here.
 */
export function localPolicy(host: string, allowNonPublic: boolean, behindProxy = false): TargetPolicy {
  if (allowNonPublic) return 'any';
  if (behindProxy) return 'public-only';
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  return loopback ? 'public-and-loopback' : 'public-only';
}

/**
 * The dual-stack endpoint's URL for an IPv6 listener. `::1` is named `localhost`, which names
 * both loopback addresses, as a dual-stack API's name has A and AAAA records, and which a
 * page's Content-Security-Policy can list: CSP has no syntax for an IPv6 literal such as
 * `http://[::1]:8787`, so a page could not be allowed to fetch from it.
 */
function dualStackUrl(ipv6Host: string, port: number): string {
  return ipv6Host === '::1' ? `http://localhost:${port}` : `http://[${ipv6Host}]:${port}`;
}

/**
 * The CORS allow-list when `CORS_ALLOW_ORIGINS` is not set: `*` where the callers are the
 * Internet's, but a server that checks loopback callers answers only its own origins, so a page
 * on some other site cannot make a developer's browser read their loopback ports' states
 * (DESIGN §4.7). Both loopback names of each listener count as its own.
 */
function corsDefault(
  given: string | undefined,
  policy: TargetPolicy,
  urls: ReadonlyArray<string | undefined>,
): string | undefined {
  if ((given !== undefined && given.trim() !== '') || policy !== 'public-and-loopback') return given;
  const origins = new Set<string>();
  for (const url of urls) {
    if (url === undefined) continue;
    const { origin, port } = new URL(url);
    origins.add(origin);
    const suffix = port === '' ? '' : `:${port}`;
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) origins.add(`http://${name}${suffix}`);
  }
  return [...origins].join(',');
}

/**
 * The HMAC key for caller hashes when none is configured: a fresh one per run in memory, or
 * one kept beside the counters (created on first use, readable by this user only), since a new
 * key would hash every caller to a new counter and hand out fresh budgets after a restart.
 */
async function localKey(dataDir: string | undefined): Promise<string> {
  if (dataDir === undefined) return randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'rate-limit.key');
  try {
    await writeFile(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(file, 'utf8')).trim();
}

/** Tries for a free port number on both addresses when the caller asked for any (port 0). */
const PAIR_ATTEMPTS = 5;

/**
 * Listens on `host` and, when given, on `ipv6Host` at the same port. With port 0 the number
 * the first listener got may be taken on the second address; then both are tried again.
 */
async function listenPair(
  handler: Handler,
  corsAllowOrigins: () => readonly string[],
  options: Pick<LocalAppOptions, 'host' | 'ipv6Host' | 'port' | 'trustProxy' | 'inFlight'>,
): Promise<[LocalServer, ...LocalServer[]]> {
  for (let attempt = 1; ; attempt++) {
    const common = {
      handler,
      corsAllowOrigins,
      inFlight: createInFlightGate(options.inFlight),
      ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
    };
    const first = await startLocalServer({ ...common, host: options.host, port: options.port });
    if (options.ipv6Host === undefined) return [first];
    try {
      const second = await startLocalServer({ ...common, host: options.ipv6Host, port: first.port });
      return [first, second];
    } catch (error) {
      await first.close();
      const taken = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!taken || options.port !== 0 || attempt >= PAIR_ATTEMPTS) throw error;
    }
  }
}

/** Starts the local app. */
export async function startLocalApp(options: LocalAppOptions): Promise<LocalApp> {
  let table: EmbeddedTable | undefined;
  const given = options.env.DYNAMODB_ENDPOINT?.trim();
  if (given === undefined || given === '') {
    const tableName = options.env.TABLE_NAME?.trim() || 'dialback-rate-limits';
    // dynalite has no TTL: sweep expired counters so memory stays flat under new callers.
    table = await startEmbeddedTable(tableName, {
      sweepEveryMs: LOCAL_SWEEP_EVERY_MS,
      ...(options.dataDir === undefined ? {} : { path: join(options.dataDir, 'table') }),
    });
  }
  const servers: LocalServer[] = [];
  try {
    // The listeners come first: the endpoints /ip announces are the URLs they serve on, known
    // only once a port 0 has been given a number. Requests wait for the handler below.
    let handler: Handler | undefined;
    // No CORS on the adapter's own refusals until the configuration says which origins.
    let corsAllowOrigins: readonly string[] = [];
    const late: Handler = async (event, context) => {
      if (handler !== undefined) return handler(event, context);
      const starting = new Unavailable('The server is still starting; try again in a second.', 1);
      return refusal(starting, event.headers.origin, corsAllowOrigins);
    };
    const pair = await listenPair(late, () => corsAllowOrigins, options);
    servers.push(...pair);
    const [first] = pair;
    await options.whenListening?.(first.url);
    const dualStack = options.ipv6Host === undefined ? undefined : dualStackUrl(options.ipv6Host, first.port);
    const policy = localPolicy(options.host, options.allowNonPublic, options.trustProxy !== undefined);
    const config = loadConfig({
      ...options.env,
      CORS_ALLOW_ORIGINS: corsDefault(options.env.CORS_ALLOW_ORIGINS, policy, [first.url, dualStack]),
      ...(table === undefined ? {} : { DYNAMODB_ENDPOINT: table.endpoint }),
      API_URL_IPV4: options.env.API_URL_IPV4 ?? (isIP(options.host) === 4 ? first.url : undefined),
      API_URL_DUAL_STACK: options.env.API_URL_DUAL_STACK ?? dualStack,
    });
    corsAllowOrigins = config.corsAllowOrigins;
    const key = config.rateLimitKey ?? (await localKey(options.dataDir));
    // No bundler runs locally, so the browser code is compiled here, once, before serving.
    const webAssets = await buildWebAssets();
    const inner = createHandler(
      createDeps(config, {
        policy,
        blockedPorts: [],
        key: async () => key,
        webAssets: async () => webAssets,
        // Compiled from the installed packages on /ip's first use (cached under node_modules/.cache).
        holders: localHolders(),
        scheme: 'http',
        ...(options.log ? { log: options.log } : {}),
      }),
    );
    const { observe } = options;
    handler =
      observe === undefined
        ? inner
        : async (event, context) => {
            const response = await inner(event, context);
            observe(event, response);
            return response;
          };
    return {
      url: first.url,
      port: first.port,
      endpoints: config.endpoints,
      tableEndpoint: config.dynamodbEndpoint,
      policy,
      close: async () => {
        await Promise.all(servers.map((server) => server.close()));
        await table?.close();
      },
    };
  } catch (error) {
    await Promise.all(servers.map((server) => server.close()));
    await table?.close();
    throw error;
  }
}

/**
 * What to try first, printed at start-up. Never a URL that would answer 403: bound to a
 * non-loopback address the server refuses this machine's own (non-public) addresses, so the
 * hint says where to call from instead; a wildcard bind is tried through loopback.
 */
export function startupHint(app: Pick<LocalApp, 'url' | 'port' | 'policy'>): string {
  const url = new URL(app.url);
  const wildcard = url.hostname === '0.0.0.0' || url.hostname === '[::]';
  if (app.policy === 'public-only') {
    return (
      'This server checks callers with a public address only, so from this machine (a loopback or private address) it answers 403.\n' +
      `Call it from another network, at this machine's public address: curl -s http://PUBLIC-ADDRESS:${app.port}/check/22 (PUBLIC-ADDRESS is a placeholder).\n` +
      'To check this machine from itself, start it with --host 127.0.0.1 (the default).'
    );
  }
  const base = wildcard ? `http://127.0.0.1:${app.port}` : app.url;
  const local = app.policy === 'public-and-loopback' ? ' (a local check: what this machine sees of itself)' : '';
  return `Try: curl -s ${base}/check/22${local}`;
}
