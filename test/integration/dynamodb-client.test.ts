/** The DynamoDB client: where it sends, with which credentials, and how fast it gives up on a silent table. */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createDynamoDbClient', () => {
  it('sends to the local endpoint with placeholder credentials when one is configured', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'from-env');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'from-env-secret');
    const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: 'http://127.0.0.1:8000' });
    try {
      expect(await client.config.region()).toBe('us-east-1');
      expect(await client.config.endpoint?.()).toMatchObject({ hostname: '127.0.0.1', port: 8000, protocol: 'http:' });
      // Never the environment's keys: a local table must not receive real credentials.
      expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'local', secretAccessKey: 'local' });
    } finally {
      client.destroy();
    }
  });

  it("uses the environment's credentials and AWS's endpoint when none is configured (the Lambda's role)", async () => {
    // The default chain reads these first, so nothing here leaves the machine.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'from-env');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'from-env-secret');
    const client = createDynamoDbClient({ region: 'eu-west-1', dynamodbEndpoint: undefined });
    try {
      expect(client.config.isCustomEndpoint).toBe(false);
      expect(await client.config.credentials()).toMatchObject({
        accessKeyId: 'from-env',
        secretAccessKey: 'from-env-secret',
      });
    } finally {
      client.destroy();
    }
  });

  it('gives up on a table that accepts but never answers: a timeout on each of its two attempts', async () => {
    const proxy = await startFaultProxy(1, 'blackhole');
    const client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: proxy.endpoint });
    try {
      // The abort is only a backstop so a client without its own timeout fails this test
      // instead of hanging it; the client's request timeout must come first.
      const error = await client
        .send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(15_000) })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TimeoutError' });
      expect(proxy.connections()).toBe(2);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});
