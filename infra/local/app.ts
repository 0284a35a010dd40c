/**
 * The whole service on one machine: embedded table (unless an endpoint is configured), the
 * real dependencies, the real handler, and the localhost adapter.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createDeps } from '../../functions/api/deps.ts';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import type { HttpResponse } from '../../functions/api/http.ts';
import { loadConfig } from '../../functions/core/config.ts';
import type { Log } from '../../functions/core/log.ts';
import type { TargetPolicy } from '../../functions/core/source-address.ts';
import { buildWebAssets } from '../../functions/web/build.ts';
import { type EmbeddedTable, startEmbeddedTable } from './embedded-table.ts';
import { startLocalServer } from './server.ts';

/** How often the embedded table deletes expired counters; a minute window lives two minutes. */
const LOCAL_SWEEP_EVERY_MS = 60_000;

/** Options of the local app, as the command line gives them. */
export interface LocalAppOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: string;
  readonly port: number;
  /** Dial non-public callers even when bound to a non-loopback address (labs only). */
  readonly allowNonPublic: boolean;
  readonly log?: Log;
  /** Sees every event and the function's response to it (tests validate them against the OpenAPI document). */
  readonly observe?: (event: APIGatewayProxyEventV2, response: HttpResponse) => void;
}

/** A running local app. */
export interface LocalApp {
  readonly url: string;
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
 * `--allow-non-public` says otherwise. Deployed mode never comes through here.
 */
export function localPolicy(host: string, allowNonPublic: boolean): TargetPolicy {
  if (allowNonPublic) return 'any';
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  return loopback ? 'public-and-loopback' : 'public-only';
}

/** Starts the local app. */
export async function startLocalApp(options: LocalAppOptions): Promise<LocalApp> {
  let table: EmbeddedTable | undefined;
  const given = options.env.DYNAMODB_ENDPOINT?.trim();
  if (given === undefined || given === '') {
    const tableName = options.env.TABLE_NAME?.trim() || 'dialback-rate-limits';
    // dynalite has no TTL: sweep expired counters so memory stays flat under new callers.
    table = await startEmbeddedTable(tableName, { sweepEveryMs: LOCAL_SWEEP_EVERY_MS });
  }
  try {
    const config = loadConfig({
      ...options.env,
      ...(table === undefined ? {} : { DYNAMODB_ENDPOINT: table.endpoint }),
    });
    const key = config.rateLimitKey ?? randomBytes(32).toString('base64url');
    const policy = localPolicy(options.host, options.allowNonPublic);
    // No bundler runs locally, so the browser code is compiled here, once, before serving.
    const webAssets = await buildWebAssets();
    const inner = createHandler(
      createDeps(config, {
        policy,
        blockedPorts: [],
        key: async () => key,
        webAssets: async () => webAssets,
        ...(options.log ? { log: options.log } : {}),
      }),
    );
    const { observe } = options;
    const handler: Handler =
      observe === undefined
        ? inner
        : async (event, context) => {
            const response = await inner(event, context);
            observe(event, response);
            return response;
          };
    const server = await startLocalServer({
      handler,
      host: options.host,
      port: options.port,
      corsAllowOrigins: config.corsAllowOrigins,
    });
    return {
      url: server.url,
      port: server.port,
      tableEndpoint: config.dynamodbEndpoint,
      policy,
      close: async () => {
        await server.close();
        await table?.close();
      },
    };
  } catch (error) {
    await table?.close();
    throw error;
  }
}
