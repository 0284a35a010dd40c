/**
 * The rate-limit table's schema, defined once: the CDK stack and the local embedded table
 * both build the table from this, and the limiter names its attributes from it.
 */

/** Attribute names of a counter item. */
export const COUNTER_ATTRIBUTES = Object.freeze({
  /** Partition key: `<caller hash>#<window name>#<window start>`; there is no sort key. */
  key: 'pk',
  /** Start of the fixed window, epoch seconds. */
  window: 'windowStart',
  /** Port probes counted in the window. */
  count: 'hits',
  /** Epoch seconds after which DynamoDB's TTL sweeper may delete the item. */
  expiresAt: 'expiresAt',
});

/** What a table needs to hold counters: a string partition key and TTL on `expiresAt`. */
export const COUNTER_TABLE_SCHEMA = Object.freeze({
  partitionKey: { name: COUNTER_ATTRIBUTES.key, type: 'S' as const },
  timeToLiveAttribute: COUNTER_ATTRIBUTES.expiresAt,
});
