/**
 * One embedded dynalite per test file and a fresh counters table per test, so counts never
 * leak between tests. Registers its own hooks; read `endpoint` and `tableName` inside tests.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createCounterTable, type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';

/** The current test's table. */
export interface TestTable {
  readonly endpoint: string;
  readonly tableName: string;
}

/** Starts dynalite for the file and creates `<prefix>-<n>` before each test. */
export function useCounterTable(prefix: string): TestTable {
  let server: EmbeddedTable | undefined;
  let count = 0;
  let tableName = '';
  beforeAll(async () => {
    server = await startEmbeddedTable(`${prefix}-base`);
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    count += 1;
    tableName = `${prefix}-${count}`;
    await createCounterTable(current().endpoint, tableName);
  });
  const current = (): EmbeddedTable => {
    if (server === undefined) throw new Error('the embedded table is not running');
    return server;
  };
  return {
    get endpoint() {
      return current().endpoint;
    },
    get tableName() {
      return tableName;
    },
  };
}

/**
 * A client for a DynamoDB-compatible `endpoint` with long timeouts and no retry, for tests about
 * what the table holds (an exact count under a race, no leak over 10,000 checks) rather than
 * how fast it answers. The production client's 1 s request budget (dynamodb-client.ts) turns
 * an embedded dynalite slowed by a busy machine into 503s that say nothing about the code
 * under test; the tests of that budget use the production client against a faulty proxy.
 */
export function patientClient(endpoint: string, region = 'us-east-1'): DynamoDBClient {
  return new DynamoDBClient({
    region,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 30_000, requestTimeout: 30_000 },
  });
}
