/**
 * Per-caller rate limiting on DynamoDB (DESIGN §4.3–4.4).
 *
 * Each caller has one counter item per fixed window (a minute and a day), keyed by an HMAC of
 * its address (IPv6 by /64) plus the window's start. Spending is one atomic conditional
 * `UpdateItem` per window: `ADD` the cost only if the count stays within the limit, so
 * concurrent requests can never overspend. Because the window start is part of the key, an
 * expired window is never read again: it is ignored at once, whether or not DynamoDB's lazy TTL
 * sweeper has deleted it yet (`expiresAt` only keeps the table small).
 *
 * Any trouble with the table (down, slow, throttled, missing) throws `Unavailable`: the service
 * fails closed and never probes without a counted budget.
 */

import { createHmac } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import ipaddr from 'ipaddr.js';
import { RateLimited, Unavailable } from './errors.ts';
import type { SourceAddress } from './source-address.ts';
import { COUNTER_ATTRIBUTES } from './table-schema.ts';
import { formatDuration } from './verdict-text.ts';

/** One fixed window of the policy. */
export interface RateWindow {
  /** Name used in the key and in the `RateLimit` headers. */
  readonly name: string;
  readonly seconds: number;
  readonly limit: number;
}

/** Where a caller stands in one window after a request. */
export interface WindowStatus {
  readonly window: RateWindow;
  readonly remaining: number;
  /** Seconds until this window resets. */
  readonly resetSeconds: number;
}

/** The whole policy's standing, tightest window first. */
export interface RateStatus {
  readonly windows: readonly WindowStatus[];
}

/** Thrown when a caller's budget is spent; carries the standing for the response headers. */
export class RateLimitExceeded extends RateLimited {
  constructor(
    message: string,
    retryAfterSeconds: number,
    readonly status: RateStatus,
  ) {
    super(message, retryAfterSeconds);
  }
}

/** Spends `cost` port probes of the caller's budget, or throws `RateLimitExceeded`/`Unavailable`. */
export type RateLimiter = (caller: SourceAddress, cost: number) => Promise<RateStatus>;

/** What the limiter needs; everything passed in so tests run it against a real dynalite. */
export interface RateLimiterDeps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly windows: readonly RateWindow[];
  /** HMAC key for caller hashes, or a function that yields it (fetched once from a secret). */
  readonly key: () => Promise<string>;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Upper bound on the whole table conversation for one request. */
  readonly timeoutMs?: number;
}

/** Grace kept after a window ends before TTL may delete it, so clock skew never reopens it. */
const TTL_GRACE_SECONDS = 60;

const NAMES = {
  '#count': COUNTER_ATTRIBUTES.count,
  '#window': COUNTER_ATTRIBUTES.window,
  '#expiresAt': COUNTER_ATTRIBUTES.expiresAt,
};

/**
 * The text that identifies a caller: the address itself for IPv4, the /64 for IPv6, since
 * one IPv6 subscriber usually holds a whole /64 and could otherwise rotate through it.
 */
export function callerIdentity(caller: SourceAddress): string {
  if (caller.family === 4) return caller.address;
  const parts = ipaddr.IPv6.parse(caller.address).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/** Keyed hash of a caller: the table never holds the address, and it cannot be brute-forced without the key. */
export function callerHash(caller: SourceAddress, key: string): string {
  return createHmac('sha256', key).update(callerIdentity(caller)).digest('base64url').slice(0, 32);
}

/** Builds the limiter. */
export function createRateLimiter(deps: RateLimiterDeps): RateLimiter {
  const timeoutMs = deps.timeoutMs ?? 2000;
  return async (caller, cost) => {
    const tooBig = deps.windows.find((w) => cost > w.limit);
    if (tooBig !== undefined) {
      throw new RateLimitExceeded(
        `A check of ${cost} ports is more than the ${tooBig.limit} allowed per ${tooBig.name}.`,
        tooBig.seconds,
        { windows: [{ window: tooBig, remaining: tooBig.limit, resetSeconds: tooBig.seconds }] },
      );
    }
    const signal = AbortSignal.timeout(timeoutMs);
    const hash = callerHash(caller, await deps.key());
    const nowSeconds = Math.floor(deps.now() / 1000);
    const statuses: WindowStatus[] = [];
    for (const window of deps.windows) {
      const start = nowSeconds - (nowSeconds % window.seconds);
      const resetSeconds = start + window.seconds - nowSeconds;
      const spent = await spend(deps, signal, `${hash}#${window.name}#${start}`, window, start, cost);
      if (spent.ok) {
        statuses.push({ window, remaining: window.limit - spent.count, resetSeconds });
      } else {
        const status = { window, remaining: Math.max(0, window.limit - spent.count), resetSeconds };
        throw new RateLimitExceeded(
          `You have used your ${window.limit} port checks per ${window.name}; ${status.remaining} left. Try again in ${formatDuration(resetSeconds)}.`,
          resetSeconds,
          { windows: [status, ...statuses] },
        );
      }
    }
    return { windows: statuses };
  };
}

async function spend(
  deps: RateLimiterDeps,
  signal: AbortSignal,
  key: string,
  window: RateWindow,
  start: number,
  cost: number,
): Promise<{ ok: true; count: number } | { ok: false; count: number }> {
  try {
    const out = await deps.client.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: { [COUNTER_ATTRIBUTES.key]: { S: key } },
        UpdateExpression: 'ADD #count :cost SET #window = :start, #expiresAt = :expiresAt',
        ConditionExpression: 'attribute_not_exists(#count) OR #count <= :ceiling',
        ExpressionAttributeNames: NAMES,
        ExpressionAttributeValues: {
          ':cost': { N: String(cost) },
          ':ceiling': { N: String(window.limit - cost) },
          ':start': { N: String(start) },
          ':expiresAt': { N: String(start + window.seconds + TTL_GRACE_SECONDS) },
        },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      { abortSignal: signal },
    );
    return { ok: true, count: Number(out.Attributes?.[COUNTER_ATTRIBUTES.count]?.N ?? cost) };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      const old = error.Item?.[COUNTER_ATTRIBUTES.count]?.N;
      return {
        ok: false,
        count: old === undefined ? await readCount(deps, signal, key).catch(() => window.limit) : Number(old),
      };
    }
    throw new Unavailable('The rate limiter is unavailable, so no check can be made right now. Try again shortly.', 5, {
      cause: error,
    });
  }
}

/** The policy's windows from the configured limits: a minute and a day. */
export function rateWindows(limits: { ratePerMinute: number; ratePerDay: number }): readonly RateWindow[] {
  return Object.freeze([
    { name: 'minute', seconds: 60, limit: limits.ratePerMinute },
    { name: 'day', seconds: 86_400, limit: limits.ratePerDay },
  ]);
}

/**
 * Reads a counter with a no-op `ADD 0`, for DynamoDB-compatible servers (dynalite) that do not
 * return the item on a failed condition. It keeps the function's IAM to `UpdateItem` alone.
 */
async function readCount(deps: RateLimiterDeps, signal: AbortSignal, key: string): Promise<number> {
  const out = await deps.client.send(
    new UpdateItemCommand({
      TableName: deps.tableName,
      Key: { [COUNTER_ATTRIBUTES.key]: { S: key } },
      UpdateExpression: 'ADD #count :zero',
      ConditionExpression: 'attribute_exists(#count)',
      ExpressionAttributeNames: { '#count': COUNTER_ATTRIBUTES.count },
      ExpressionAttributeValues: { ':zero': { N: '0' } },
      ReturnValues: 'UPDATED_NEW',
    }),
    { abortSignal: signal },
  );
  return Number(out.Attributes?.[COUNTER_ATTRIBUTES.count]?.N ?? 0);
}
