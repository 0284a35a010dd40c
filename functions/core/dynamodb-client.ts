/**
 * The DynamoDB client, configured so a sick table fails a request fast instead of holding it:
 * short connect and request timeouts, one retry. The limiter turns any failure into a 503.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from './config.ts';

/** Builds the client for the configured region or endpoint (the embedded table locally). */
export function createDynamoDbClient(config: Pick<Config, 'region' | 'dynamodbEndpoint'>): DynamoDBClient {
  return new DynamoDBClient({
    region: config.region,
    maxAttempts: 2,
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and
    // keeps waiting, so a slow table would hold every request for the limiter's whole budget.
    requestHandler: { connectionTimeout: 500, requestTimeout: 1000, throwOnRequestTimeout: true },
    ...(config.dynamodbEndpoint === undefined
      ? {}
      : {
          endpoint: config.dynamodbEndpoint,
          // A local DynamoDB-compatible server checks no signature; real credentials are never needed.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
  });
}
