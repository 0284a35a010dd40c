/**
 * An embedded DynamoDB-compatible server (dynalite, in memory) on an ephemeral loopback port,
 * with the counters table created from the one shared schema. The local server and the
 * integration tests both use it, so the limiter always runs against a real DynamoDB API.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { COUNTER_TABLE_SCHEMA } from '../../functions/core/table-schema.ts';

/** A running embedded table. */
export interface EmbeddedTable {
  /** `http://127.0.0.1:PORT`, for `DYNAMODB_ENDPOINT`. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server and drops its data; safe to call twice. */
  close(): Promise<void>;
}

/** Creates the counters table on `endpoint` (dynalite does not implement TTL; it is not needed in memory). */
export async function createCounterTable(endpoint: string, tableName: string): Promise<void> {
  const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: endpoint });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          {
            AttributeName: COUNTER_TABLE_SCHEMA.partitionKey.name,
            AttributeType: COUNTER_TABLE_SCHEMA.partitionKey.type,
          },
        ],
        KeySchema: [{ AttributeName: COUNTER_TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } finally {
    client.destroy();
  }
}

/** Starts dynalite on 127.0.0.1 (optionally a fixed port) and creates `tableName` in it. */
export async function startEmbeddedTable(tableName: string, port = 0): Promise<EmbeddedTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${bound}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      // Keep-alive connections from SDK clients would hold a graceful close open.
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  try {
    await createCounterTable(endpoint, tableName);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, port: bound, close };
}
