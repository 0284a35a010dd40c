/**
 * An embedded DynamoDB-compatible server (dynalite, in memory, or in a directory so counters
 * survive a restart) on an ephemeral loopback port,
 * with the counters table created from the one shared schema. The local server and the
 * integration tests both use it, so the limiter always runs against a real DynamoDB API.
 *
 * dynalite implements no TTL, so a long-running local server would keep every counter of every
 * caller it ever saw. `sweep` does what DynamoDB's TTL sweeper does: it deletes the items whose
 * TTL attribute (the schema's `expiresAt`) is past, whatever else their shape; the local server
 * runs it every minute. Tests leave it off: their clocks are not the wall clock.
 *
 * A loopback port answers every process on the machine, and dynalite checks no credential, so
 * the table answers only requests to a random path that is part of its endpoint (a capability
 * URL, as DYNAMODB_ENDPOINT carries it to the SDK, which keeps an endpoint's path); anything
 * else gets DynamoDB's 403 before dynalite sees it. Another local user cannot read or reset the
 * counters without that path; it is never printed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { COUNTER_TABLE_SCHEMA } from '../../functions/core/table-schema.ts';

/** A running embedded table. */
export interface EmbeddedTable {
  /** `http://127.0.0.1:PORT/SECRET`, for `DYNAMODB_ENDPOINT`: the path is the table's credential. */
  readonly endpoint: string;
  readonly port: number;
  /**
   * Deletes the items of `tableName` (default: the table it was started with) whose TTL
   * attribute is before now; resolves with how many it deleted.
   */
  sweep(tableName?: string): Promise<number>;
  /** Stops the server (dropping its data unless it has a `path`); safe to call twice. */
  close(): Promise<void>;
}

/** Options of `startEmbeddedTable`. */
export interface EmbeddedTableOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  /** Sweep expired items this often; off when absent. */
  readonly sweepEveryMs?: number;
  /**
   * A directory for dynalite's LevelDB store: counters then survive a restart, so a restart
   * mid-minute or mid-day hands out no fresh budget. In memory when absent.
   */
  readonly path?: string;
  /** The clock TTL is read against, epoch milliseconds (benches simulate days). */
  readonly now?: () => number;
}

/**
 * Deletes every item of `tableName` whose TTL attribute is before `nowSeconds`. The key names
 * come from the table itself, so this holds for any item shape; each delete is conditional on
 * the item still being expired, so a counter renewed meanwhile survives.
 */
async function sweepExpired(client: DynamoDBClient, tableName: string, nowSeconds: number): Promise<number> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const keys = (Table?.KeySchema ?? []).flatMap((k) => (k.AttributeName === undefined ? [] : [k.AttributeName]));
  const names = Object.fromEntries([
    ['#ttl', COUNTER_TABLE_SCHEMA.timeToLiveAttribute],
    ...keys.map((name, i) => [`#k${i}`, name]),
  ]);
  const expired = { ':now': { N: String(nowSeconds) } };
  let deleted = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#ttl < :now',
        ProjectionExpression: keys.map((_, i) => `#k${i}`).join(', '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: expired,
        ExclusiveStartKey: start,
      }),
    );
    for (const key of page.Items ?? []) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: key,
            ConditionExpression: '#ttl < :now',
            ExpressionAttributeNames: { '#ttl': COUNTER_TABLE_SCHEMA.timeToLiveAttribute },
            ExpressionAttributeValues: expired,
          }),
        );
        deleted += 1;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return deleted;
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
  } catch (error) {
    // A store kept in a directory already has the table from the last run.
    if (!(error instanceof ResourceInUseException)) throw error;
  } finally {
    client.destroy();
  }
}

type IteratorClass = { prototype: { close(): Promise<void>; return?: () => Promise<void> } };
type Operation = { type: 'put' | 'del'; key: unknown; value?: unknown };
type StoreClass = {
  prototype: {
    _put(key: unknown, value: unknown, options: unknown): Promise<void>;
    _batch(operations: Operation[], options: unknown): Promise<void>;
    [PATCHED]?: true;
  };
};
const PATCHED = Symbol('dialback: store copies its buffers');

/**
 * A small Buffer is a slice of an 8 KB pool shared with whatever else was allocated at the time
 * (the request's bytes, JSON, headers), and one live slice keeps the whole pool: memory-level
 * keeps the keys and values dynalite gives it as such slices, so each stored counter held about
 * 4 KB of ArrayBuffers (78 MB after 20,000 callers; BENCHMARKS.md). Stored bytes get memory of
 * their own, of their own size.
 */
function ownBytes(bytes: unknown): unknown {
  if (!Buffer.isBuffer(bytes) || bytes.buffer.byteLength === bytes.byteLength) return bytes;
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  bytes.copy(copy);
  return copy;
}

/**
 * Two repairs to the store dynalite (4.0) uses in memory, local only (nothing here is in the
 * Lambda bundle). (1) dynalite ends each Scan's level iterator with `iterator.return()`, which
 * abstract-level iterators do not have (theirs is `close()`), so every scan left its iterator
 * open and the store kept the snapshot it had read: a sweep kept memory growing with each caller
 * even as it deleted their counters. They get the method dynalite calls. (2) Stored keys and
 * values get their own memory (`ownBytes`).
 */
function repairDynaliteStore(): void {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const fromStore = createRequire(fromDynalite.resolve('memory-level'));
  const level = fromStore('abstract-level') as Record<string, IteratorClass>;
  for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
    const proto = level[name]?.prototype;
    if (proto !== undefined && proto.return === undefined) {
      proto.return = function (this: { close(): Promise<void> }) {
        return this.close();
      };
    }
  }
  const store = (fromDynalite('memory-level') as { MemoryLevel: StoreClass }).MemoryLevel.prototype;
  if (store[PATCHED]) return;
  store[PATCHED] = true;
  const { _put: put, _batch: batch } = store;
  store._put = function (key, value, options) {
    return put.call(this, ownBytes(key), ownBytes(value), options);
  };
  store._batch = function (operations, options) {
    const owned = operations.map((op) => ({ ...op, key: ownBytes(op.key), value: ownBytes(op.value) }));
    return batch.call(this, owned, options);
  };
}

/**
 * Puts a check of the request's path in front of dynalite's own handler: `secretPath` (with the
 * trailing slash the SDK adds, or without) is passed on as `/`, anything else answered 403.
 */
function guardWithPath(server: Server, secretPath: string): void {
  const [answer] = server.listeners('request') as RequestListener[];
  if (answer === undefined) throw new Error('dynalite registered no request handler');
  const expected = Buffer.from(secretPath);
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const asked = Buffer.from((request.url ?? '').replace(/\/$/, ''));
    if (asked.length !== expected.length || !timingSafeEqual(asked, expected)) {
      response.writeHead(403, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify({
          __type: 'com.amazon.coral.service#UnrecognizedClientException',
          message: 'This table answers only the server that started it.',
        }),
      );
      request.resume();
      return;
    }
    request.url = '/';
    answer(request, response);
  });
}

/** Starts dynalite on 127.0.0.1 and creates `tableName` in it. */
export async function startEmbeddedTable(
  tableName: string,
  options: EmbeddedTableOptions = {},
): Promise<EmbeddedTable> {
  repairDynaliteStore();
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  const secretPath = `/${randomBytes(24).toString('base64url')}`;
  guardWithPath(server, secretPath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${bound}${secretPath}`;
  const now = options.now ?? Date.now;
  // A patient client of its own: a sweep of a large table must not hit the limiter's timeouts.
  const sweeper = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const sweep = (table = tableName): Promise<number> => sweepExpired(sweeper, table, Math.floor(now() / 1000));
  let sweeping: Promise<void> | undefined;
  const timer =
    options.sweepEveryMs === undefined
      ? undefined
      : setInterval(() => {
          // One sweep at a time; a failed one is retried next time.
          sweeping ??= sweep().then(
            () => {
              sweeping = undefined;
            },
            () => {
              sweeping = undefined;
            },
          );
        }, options.sweepEveryMs).unref();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    clearInterval(timer);
    // A scan still running when dynalite's store closes throws inside dynalite, uncaught.
    closing ??= Promise.resolve(sweeping)
      .then(
        () =>
          new Promise<void>((resolve) => {
            // Keep-alive connections from SDK clients would hold a graceful close open.
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      )
      .then(() => sweeper.destroy());
    return closing;
  };
  try {
    await createCounterTable(endpoint, tableName);
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, port: bound, sweep, close };
}
