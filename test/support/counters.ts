/**
 * Spends a caller's day budget directly in the counters table, so the next check is refused
 * with 429 before any probe: the way to exercise the limiter for a public address without
 * ever dialing it.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { callerHash, counterKey } from '../../functions/core/rate-limiter.ts';
import { parseSourceAddress } from '../../functions/core/source-address.ts';
import { COUNTER_ATTRIBUTES } from '../../functions/core/table-schema.ts';

const DAY = 86_400;

/** Marks `address` as having used `limit` probes today and tomorrow (a run may straddle midnight UTC). */
export async function spendDayBudget(options: {
  endpoint: string;
  tableName: string;
  address: string;
  key: string;
  limit: number;
}): Promise<void> {
  const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: options.endpoint });
  const hash = callerHash(parseSourceAddress(options.address), options.key);
  const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
  try {
    for (const start of [today, today + DAY]) {
      await client.send(
        new PutItemCommand({
          TableName: options.tableName,
          Item: {
            [COUNTER_ATTRIBUTES.key]: { S: counterKey(hash, start) },
            [COUNTER_ATTRIBUTES.count]: { N: String(options.limit) },
            [COUNTER_ATTRIBUTES.expiresAt]: { N: String(start + DAY + 60) },
          },
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
