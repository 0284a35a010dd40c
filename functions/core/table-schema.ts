/**
 * The rate-limit table's schema, defined once: the CDK stack and the local embedded table
 * both build the table from this, and the limiter names its attributes from it.
 */

/** Attribute names of a counter item: one item per caller per day (see rate-limiter.ts). */
export const COUNTER_ATTRIBUTES = Object.freeze({
  /** Partition key: `<caller hash>#<day start, epoch seconds>`; there is no sort key. */
  key: 'pk',
  /** Port probes counted in the day. */
  count: 'hits',
  /**
   * Prefix of the per-minute counts: `m<minute of the day>` (`m0` … `m1439`) holds the probes
   * counted in that minute. Short names on purpose: DynamoDB bills a write by item size.
   */
  minutePrefix: 'm',
  /** Epoch seconds after which DynamoDB's TTL sweeper may delete the item. */
  expiresAt: 'expiresAt',
});

/** What a table needs to hold counters: a string partition key and TTL on `expiresAt`. */
export const COUNTER_TABLE_SCHEMA = Object.freeze({
  partitionKey: { name: COUNTER_ATTRIBUTES.key, type: 'S' as const },
  timeToLiveAttribute: COUNTER_ATTRIBUTES.expiresAt,
});
