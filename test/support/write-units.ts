/**
 * What the limiter's writes cost: a counter of the `UpdateItem` calls a client sends, DynamoDB's
 * item-size rule, and a walk of one caller's day on an injected clock that prices every write
 * from the stored item (the day-walk test and `npm run bench -- limiter` share it).
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import {
  createRateLimiter,
  RateLimitExceeded,
  type RateWindows,
  rateWindows,
} from '../../functions/core/rate-limiter.ts';
import { parseSourceAddress } from '../../functions/core/source-address.ts';

/** Counts every command a client sends (each attempt is one request DynamoDB would bill). */
export function countRequests(client: DynamoDBClient): { readonly count: () => number } {
  let sent = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      sent += 1;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'countRequests' },
  );
  return { count: () => sent };
}

function numberSize(text: string): number {
  // DynamoDB: 1 byte per two significant digits, plus 1; leading and trailing zeros trimmed.
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** An item's size as DynamoDB bills it: UTF-8 bytes of each name plus its value (S and N only). */
export function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name);
    if (value.S !== undefined) size += Buffer.byteLength(value.S);
    else if (value.N !== undefined) size += numberSize(value.N);
    else throw new Error(`itemSize: attribute ${name} has a type the counters never use`);
  }
  return size;
}

/** Write units of one write: the larger of the item before and after, in 1 KB units, at least 1. */
export function writeUnits(before: number, after: number): number {
  return Math.max(1, Math.ceil(Math.max(before, after) / 1024));
}

/** One caller's day: checks at minute offsets, each of some ports. */
export interface CallerDay {
  readonly name: string;
  /** [minute of the day, ports] for each check, in order. */
  readonly checks: ReadonlyArray<readonly [minute: number, ports: number]>;
}

/** What a caller's day cost. */
export interface DayCost {
  readonly name: string;
  readonly allowed: number;
  readonly refused: number;
  /** `UpdateItem` requests sent for allowed checks and for refused ones. */
  readonly writesAllowed: number;
  readonly writesRefused: number;
  /** Write units for allowed and refused checks, each priced from the stored item's size. */
  readonly unitsAllowed: number;
  readonly unitsRefused: number;
  readonly maxUnitsOneWrite: number;
  readonly maxItemBytes: number;
}

/** Three typical callers (a person, a script, a busy one) under the default limits (30 a minute, 500 a day). */
export function typicalCallers(limits = { perMinute: 30, perDay: 500 }): CallerDay[] {
  return [
    // A person at the page: a few checks of a port or two, minutes to hours apart.
    {
      name: 'interactive (8 checks, minutes apart)',
      checks: [
        [540, 1],
        [543, 2],
        [551, 1],
        [600, 1],
        [720, 3],
        [721, 1],
        [1000, 1],
        [1300, 2],
      ],
    },
    // A monitoring script: one port a minute from midnight until the day's budget is gone, and on.
    {
      name: `script (1 port a minute, ${limits.perDay + 20} minutes)`,
      checks: Array.from({ length: limits.perDay + 20 }, (_, i) => [i, 1] as const),
    },
    // A burst: ten 3-port checks within one minute (the whole minute's budget), then one more.
    {
      name: 'burst (11 checks of 3 ports in one minute)',
      checks: Array.from({ length: 11 }, () => [600, 3] as const),
    },
  ];
}

/**
 * Runs `day` through a real limiter on `endpoint` (a fresh `tableName`), reading the table
 * between checks to price each write by DynamoDB's rule.
 */
export async function walkDay(
  endpoint: string,
  tableName: string,
  day: CallerDay,
  windows: RateWindows = rateWindows({ ratePerMinute: 30, ratePerDay: 500 }),
): Promise<DayCost> {
  const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: endpoint });
  const reader = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: endpoint });
  const requests = countRequests(client);
  const midnight = Date.UTC(2026, 10, 23);
  let now = midnight;
  const limiter = createRateLimiter({
    client,
    tableName,
    windows,
    key: async () => 'walk-key-0123456789',
    now: () => now,
  });
  const caller = parseSourceAddress('203.0.113.50');
  const itemBytes = async (): Promise<number> => {
    const out = await reader.send(new ScanCommand({ TableName: tableName }));
    return (out.Items ?? []).reduce((max, item) => Math.max(max, itemSize(item)), 0);
  };
  const cost = {
    allowed: 0,
    refused: 0,
    writesAllowed: 0,
    writesRefused: 0,
    unitsAllowed: 0,
    unitsRefused: 0,
    maxUnitsOneWrite: 0,
    maxItemBytes: 0,
  };
  try {
    for (const [index, [minute, ports]] of day.checks.entries()) {
      // Spread checks within a minute over its seconds, so a burst really shares one minute.
      now = midnight + minute * 60_000 + (index % 50) * 100;
      const before = await itemBytes();
      const sentBefore = requests.count();
      const refused = await limiter(caller, ports).then(
        () => false,
        (error: unknown) => {
          if (error instanceof RateLimitExceeded) return true;
          throw error;
        },
      );
      const after = await itemBytes();
      const sent = requests.count() - sentBefore;
      // A refused write changes nothing but is billed like any write; dynalite's follow-up read
      // (a no-op ADD, which DynamoDB never needs) is counted too, at the same size.
      const units = sent * writeUnits(before, after);
      cost.maxUnitsOneWrite = Math.max(cost.maxUnitsOneWrite, writeUnits(before, after));
      cost.maxItemBytes = Math.max(cost.maxItemBytes, after);
      if (refused) {
        cost.refused += 1;
        cost.writesRefused += sent;
        cost.unitsRefused += units;
      } else {
        cost.allowed += 1;
        cost.writesAllowed += sent;
        cost.unitsAllowed += units;
      }
    }
  } finally {
    client.destroy();
    reader.destroy();
  }
  return { name: day.name, ...cost };
}
