/**
 * Per-caller rate limiting on DynamoDB (DESIGN §4.3–4.4).
 *
 * One item per caller per day, keyed by an HMAC of its address (IPv6 by /64) and the day's
 * start, holds the day's count (`hits`) and the count of the current minute (`m<minute of the
 * day>`). A check spends both windows with **one** conditional `UpdateItem`: `ADD` the cost to
 * the day and to this minute only if neither would pass its limit. So concurrent requests can
 * never overspend, and a refusal by either window charges neither (a failed condition writes
 * nothing). A new minute needs no reset: its attribute does not exist yet, so it starts at
 * zero, and an expired day is a different key, ignored at once whether or not DynamoDB's lazy
 * TTL sweeper has deleted it (`expiresAt` only keeps the table small).
 *
 * The item stays small. Each write also `REMOVE`s the previous 59 minutes' attributes, so two
 * minute attributes that survive are at least 60 minutes apart: at most 24 in a day. DynamoDB
 * sizes an item as its attribute names plus values (a number is 1 byte per two significant
 * digits plus 1): `pk` 2 + 43 (32-character hash, `#`, 10-digit day) = 45, `hits` 4 + 3,
 * `expiresAt` 9 + 6, each minute ≤ 5 (`m1439`) + 2. Worst case 45 + 7 + 15 + 24 × 7 = 235
 * bytes, far under the 1 KB a write unit covers: every write, allowed or refused, costs one
 * unit (a busy script's item holds 2 minute attributes, ≈ 80 bytes).
 *
 * Any trouble with the table (down, slow, throttled, missing) throws `Unavailable`: the service
 * fails closed and never probes without a counted budget. IAM needs `dynamodb:UpdateItem` only.
 */
import { createHmac } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { formatDuration } from '../contract/verdict-text.ts';
import { RateLimited, Unavailable } from './errors.ts';
import { callerIdentity, type SourceAddress } from './source-address.ts';
import { COUNTER_ATTRIBUTES } from './table-schema.ts';

/** One fixed window of the policy. */
export interface RateWindow {
  /** Name used in the `RateLimit` headers and in messages. */
  readonly name: string;
  readonly seconds: number;
  readonly limit: number;
}

/** The policy: a short window (the minute) nested in a long one (the day). */
export type RateWindows = readonly [short: RateWindow, long: RateWindow];

/** Where a caller stands in one window after a request. */
export interface WindowStatus {
  readonly window: RateWindow;
  readonly remaining: number;
  /** Seconds until this window resets. */
  readonly resetSeconds: number;
}

/** The whole policy's standing; on a refusal the refusing window comes first. */
export interface RateStatus {
  readonly windows: readonly WindowStatus[];
}

/** Thrown when a caller's budget is spent; carries the standing for the response headers. */
export class RateLimitExceeded extends RateLimited {
  /** The caller's budget as it stood when refused (for the RateLimit headers), not an HTTP status. */
  readonly rate: RateStatus;
  constructor(message: string, retryAfterSeconds: number, rate: RateStatus) {
    super(message, retryAfterSeconds);
    this.rate = rate;
  }
}

/** Spends `cost` port probes of the caller's budget, or throws `RateLimitExceeded`/`Unavailable`. */
export type RateLimiter = (caller: SourceAddress, cost: number) => Promise<RateStatus>;

/** What the limiter needs; everything passed in so tests run it against a real dynalite. */
export interface RateLimiterDeps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly windows: RateWindows;
  /**
   * HMAC key for caller hashes, or a function that yields it (fetched once from a secret). It
   * must bound its own wait: the table's budget (`timeoutMs`) starts once the key is in hand.
   */
  readonly key: () => Promise<string>;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Upper bound on the table conversation for one request, counted from when the key is known. */
  readonly timeoutMs?: number;
  /**
   * On the first request, send a throwaway write while the key is read (see `warmUp`), so a
   * cold container's first real write finds the client and its connection ready.
   */
  readonly warmUp?: boolean;
}

/** Grace kept after a window ends before TTL may delete it, so clock skew never reopens it. */
const TTL_GRACE_SECONDS = 60;

/** Earlier short windows whose attributes each write removes: keeps the item small (see above). */
const PRUNED_WINDOWS = 59;

/** The partition key of the warm-up write: not base64url, so no caller's key can ever equal it. */
const WARM_UP_KEY = 'warm-up!';

const NAMES = {
  '#count': COUNTER_ATTRIBUTES.count,
  '#expiresAt': COUNTER_ATTRIBUTES.expiresAt,
};

/** Keyed hash of a caller: the table never holds the address, and it cannot be brute-forced without the key. */
export function callerHash(caller: SourceAddress, key: string): string {
  return createHmac('sha256', key).update(callerIdentity(caller)).digest('base64url').slice(0, 32);
}

/** Where `nowSeconds` falls: the long window's start, the short window's index in it, and both resets. */
export function windowPosition(windows: RateWindows, nowSeconds: number) {
  const [short, long] = windows;
  const longStart = nowSeconds - (nowSeconds % long.seconds);
  const slot = Math.floor((nowSeconds - longStart) / short.seconds);
  return {
    longStart,
    slot,
    /** The attribute holding this short window's count. */
    slotAttribute: `${COUNTER_ATTRIBUTES.minutePrefix}${slot}`,
    shortResetSeconds: longStart + (slot + 1) * short.seconds - nowSeconds,
    longResetSeconds: longStart + long.seconds - nowSeconds,
  };
}

/** The counter item's partition key for a caller hash and a day. */
export function counterKey(hash: string, longStart: number): string {
  return `${hash}#${longStart}`;
}

/** Builds the limiter. */
export function createRateLimiter(deps: RateLimiterDeps): RateLimiter {
  const [short, long] = deps.windows;
  if (long.seconds % short.seconds !== 0) {
    throw new Error(`the ${long.name} window must be a whole number of ${short.name} windows`);
  }
  const timeoutMs = deps.timeoutMs ?? 2000;
  let warm: Promise<void> | undefined = deps.warmUp === true ? undefined : Promise.resolve();
  return async (caller, cost) => {
    const tooBig = deps.windows.find((w) => cost > w.limit);
    if (tooBig !== undefined) {
      throw new RateLimitExceeded(
        `A check of ${cost} ports is more than the ${tooBig.limit} allowed per ${tooBig.name}.`,
        tooBig.seconds,
        { windows: [{ window: tooBig, remaining: tooBig.limit, resetSeconds: tooBig.seconds }] },
      );
    }
    warm ??= warmUp(deps, timeoutMs);
    const [key] = await Promise.all([deps.key(), warm]);
    // The table's budget starts only now: a slow first key read must not eat it.
    const signal = AbortSignal.timeout(timeoutMs);
    const at = windowPosition(deps.windows, Math.floor(deps.now() / 1000));
    const pk = counterKey(callerHash(caller, key), at.longStart);
    const spent = await spend(deps, signal, pk, at, cost);
    const used = spent.ok ? spent.item : (spent.item ?? (await readItem(deps, signal, pk)));
    // A refusal whose item could not be read (dynalite only) reads as nothing left in either window.
    const unknown = !spent.ok && used === undefined;
    const status = (window: RateWindow, count: AttributeValue | undefined, resetSeconds: number): WindowStatus => ({
      window,
      remaining: unknown ? 0 : Math.max(0, window.limit - Number(count?.N ?? 0)),
      resetSeconds,
    });
    const shortStatus = status(short, used?.[at.slotAttribute], at.shortResetSeconds);
    const longStatus = status(long, used?.[COUNTER_ATTRIBUTES.count], at.longResetSeconds);
    if (spent.ok) return { windows: [shortStatus, longStatus] };
    // The day refuses when this cost does not fit in it, whatever the minute says.
    const refusing = longStatus.remaining < cost ? longStatus : shortStatus;
    const other = refusing === longStatus ? shortStatus : longStatus;
    const per = `${refusing.window.limit} port checks per ${refusing.window.name}`;
    const wait = formatDuration(refusing.resetSeconds);
    throw new RateLimitExceeded(
      refusing.remaining > 0
        ? `This check asks for ${cost} ports and ${refusing.remaining} of your ${per} are left: check up to ${refusing.remaining} now, or all ${cost} in ${wait}.`
        : `You have used your ${per}. Try again in ${wait}.`,
      refusing.resetSeconds,
      { windows: [refusing, other] },
    );
  };
}

type Item = Record<string, AttributeValue>;

async function spend(
  deps: RateLimiterDeps,
  signal: AbortSignal,
  pk: string,
  at: ReturnType<typeof windowPosition>,
  cost: number,
): Promise<{ ok: true; item: Item | undefined } | { ok: false; item: Item | undefined }> {
  const [short, long] = deps.windows;
  const stale = Array.from(
    { length: Math.min(at.slot, PRUNED_WINDOWS) },
    (_, i) => `${COUNTER_ATTRIBUTES.minutePrefix}${at.slot - 1 - i}`,
  );
  try {
    const out = await deps.client.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: { [COUNTER_ATTRIBUTES.key]: { S: pk } },
        // Stale minutes are named directly: `m<digits>` is no reserved word, and 59 placeholders
        // would only lengthen the request.
        UpdateExpression: `ADD #count :cost, #slot :cost SET #expiresAt = :expiresAt${stale.length === 0 ? '' : ` REMOVE ${stale.join(', ')}`}`,
        ConditionExpression:
          '(attribute_not_exists(#slot) OR #slot <= :shortCeiling) AND (attribute_not_exists(#count) OR #count <= :longCeiling)',
        ExpressionAttributeNames: { ...NAMES, '#slot': at.slotAttribute },
        ExpressionAttributeValues: {
          ':cost': { N: String(cost) },
          ':shortCeiling': { N: String(short.limit - cost) },
          ':longCeiling': { N: String(long.limit - cost) },
          ':expiresAt': { N: String(at.longStart + long.seconds + TTL_GRACE_SECONDS) },
        },
        ReturnValues: 'UPDATED_NEW',
        // DynamoDB returns the unchanged item with a refusal, so telling which window refused
        // and how much is left costs no second call.
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      { abortSignal: signal },
    );
    return { ok: true, item: out.Attributes };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return { ok: false, item: error.Item };
    throw new Unavailable('The rate limiter is unavailable, so no check can be made right now. Try again shortly.', 5, {
      cause: error,
    });
  }
}

/** The policy's windows from the configured limits: a minute and a day. */
export function rateWindows(limits: { ratePerMinute: number; ratePerDay: number }): RateWindows {
  return Object.freeze([
    { name: 'minute', seconds: 60, limit: limits.ratePerMinute },
    { name: 'day', seconds: 86_400, limit: limits.ratePerDay },
  ] as const);
}

/**
 * Reads the item with a no-op `ADD 0`, for DynamoDB-compatible servers (dynalite) that do not
 * return it with a failed condition; DynamoDB itself never gets here. It keeps the function's
 * IAM to `UpdateItem` alone. A failed read yields nothing, which reads as "nothing left".
 */
async function readItem(deps: RateLimiterDeps, signal: AbortSignal, pk: string): Promise<Item | undefined> {
  try {
    const out = await deps.client.send(
      new UpdateItemCommand({
        TableName: deps.tableName,
        Key: { [COUNTER_ATTRIBUTES.key]: { S: pk } },
        UpdateExpression: 'ADD #count :zero',
        ConditionExpression: 'attribute_exists(#count)',
        ExpressionAttributeNames: { '#count': COUNTER_ATTRIBUTES.count },
        ExpressionAttributeValues: { ':zero': { N: '0' } },
        ReturnValues: 'ALL_NEW',
      }),
      { abortSignal: signal },
    );
    return out.Attributes;
  } catch {
    return undefined;
  }
}

/**
 * A write on a key no caller can have, whose condition never holds (the item never exists):
 * the same no-op `readItem` sends, so it stores nothing and costs one write unit per cold start.
 * Sent while the first key read is in flight, it resolves the client's credentials and endpoint,
 * runs the SDK's first-call code and leaves a kept-alive connection for the real write. Any
 * failure is the real write's to report.
 */
async function warmUp(deps: RateLimiterDeps, timeoutMs: number): Promise<void> {
  await readItem(deps, AbortSignal.timeout(timeoutMs), WARM_UP_KEY);
}
