/**
 * The counter table is built from the shared schema, keyed and swept by the attribute names the
 * limiter writes. Everything happens inside the test, not in a hook, so a schema that breaks the
 * table fails here as a test (a failing hook would only skip tests).
 */
import { DescribeTableCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { COUNTER_ATTRIBUTES } from '../../functions/core/table-schema.ts';
import { startEmbeddedTable } from '../../infra/local/embedded-table.ts';

describe('counter table schema', () => {
  it("keys the table by the limiter's key attribute and sweeps by its expiry attribute", async () => {
    const now = Date.UTC(2030, 0, 1);
    const table = await startEmbeddedTable('schema', { now: () => now });
    const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: table.endpoint });
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'schema' }));
      expect(Table?.KeySchema).toEqual([{ AttributeName: COUNTER_ATTRIBUTES.key, KeyType: 'HASH' }]);
      expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: COUNTER_ATTRIBUTES.key, AttributeType: 'S' }]);
      for (const [key, expiresAt] of [
        ['gone', now / 1000 - 1],
        ['kept', now / 1000 + 60],
      ] as const) {
        await client.send(
          new PutItemCommand({
            TableName: 'schema',
            Item: { [COUNTER_ATTRIBUTES.key]: { S: key }, [COUNTER_ATTRIBUTES.expiresAt]: { N: String(expiresAt) } },
          }),
        );
      }
      expect(await table.sweep()).toBe(1);
      const { Items = [] } = await client.send(new ScanCommand({ TableName: 'schema' }));
      expect(Items.map((item) => item[COUNTER_ATTRIBUTES.key]?.S)).toEqual(['kept']);
    } finally {
      client.destroy();
      await table.close();
    }
  });
});
