/**
 * The embedded table forgets expired counters: dynalite has no TTL, so
 * without a sweep a long-running local server kept every caller it ever saw. The sweep reads
 * only the schema's key and TTL attribute names, so it holds for any item shape. Memory over
 * 50,000 callers is measured in `npm run bench -- "local table"`, not timed here.
 */
import { createRequire } from 'node:module';
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { COUNTER_TABLE_SCHEMA } from '../../functions/core/table-schema.ts';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';

const TABLE = 'sweep';
const KEY = COUNTER_TABLE_SCHEMA.partitionKey.name;
const TTL = COUNTER_TABLE_SCHEMA.timeToLiveAttribute;
const NOW_MS = Date.UTC(2030, 0, 1);
const NOW = NOW_MS / 1000;

let clock = NOW_MS;
let table: EmbeddedTable;
let client: ReturnType<typeof createDynamoDbClient>;
beforeAll(async () => {
  table = await startEmbeddedTable(TABLE, { now: () => clock });
  client = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: table.endpoint });
});
afterAll(async () => {
  client?.destroy();
  await table?.close();
});

async function put(key: string, expiresAt: number | undefined, tableName = TABLE): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        [KEY]: { S: key },
        other: { N: '1' },
        ...(expiresAt === undefined ? {} : { [TTL]: { N: String(expiresAt) } }),
      },
    }),
  );
}

async function keys(tableName = TABLE): Promise<string[]> {
  const { Items = [] } = await client.send(new ScanCommand({ TableName: tableName }));
  return Items.map((item) => item[KEY]?.S ?? '').sort();
}

describe('embedded table sweep', () => {
  it('deletes the items whose TTL is past and keeps the rest, whatever else they hold', async () => {
    clock = NOW_MS;
    await put('expired-long-ago', NOW - 86_400);
    await put('expired-just-now', NOW - 1);
    await put('expires-now', NOW);
    await put('live', NOW + 60);
    await put('no-ttl', undefined);
    expect(await table.sweep()).toBe(2);
    expect(await keys()).toEqual(['expires-now', 'live', 'no-ttl']);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { [KEY]: { S: 'live' } } }));
    expect(Item?.other).toEqual({ N: '1' });
  });

  it('sweeps more than one scan page', async () => {
    clock = NOW_MS;
    // Four items of 300 KB exceed the 1 MB a scan page returns.
    const padding = 'x'.repeat(300 * 1024);
    for (let i = 0; i < 4; i++) {
      await client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { [KEY]: { S: `big-${i}` }, pad: { S: padding }, [TTL]: { N: String(NOW - 5) } },
        }),
      );
    }
    expect(await table.sweep()).toBe(4);
    expect((await keys()).filter((k) => k.startsWith('big-'))).toEqual([]);
  });

  it('sweeps on its own when started with an interval', async () => {
    const ticking = await startEmbeddedTable(TABLE, { sweepEveryMs: 50, now: () => NOW_MS });
    const own = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: ticking.endpoint });
    try {
      await own.send(new PutItemCommand({ TableName: TABLE, Item: { [KEY]: { S: 'old' }, [TTL]: { N: '1' } } }));
      await own.send(
        new PutItemCommand({ TableName: TABLE, Item: { [KEY]: { S: 'new' }, [TTL]: { N: String(NOW + 60) } } }),
      );
      await vi.waitFor(
        async () => {
          const { Items = [] } = await own.send(new ScanCommand({ TableName: TABLE }));
          expect(Items.map((item) => item[KEY]?.S)).toEqual(['new']);
        },
        { timeout: 5000, interval: 100 },
      );
    } finally {
      own.destroy();
      await ticking.close();
    }
  });
});

// A loopback port answers every local process: only the holder of the endpoint's path may use the table.
describe('who the embedded table answers', () => {
  const key = { [KEY]: { S: 'someone' } };

  it.each([
    ['its bare origin', (endpoint: string) => new URL(endpoint).origin],
    ['a guessed path', (endpoint: string) => `${new URL(endpoint).origin}/local`],
    [
      'its path with one character changed',
      (endpoint: string) => `${endpoint.slice(0, -1)}${endpoint.endsWith('A') ? 'B' : 'A'}`,
    ],
  ])('refuses a client at %s with 403, and dynalite never sees it', async (_, endpointOf) => {
    await put('someone', NOW + 60);
    const outsider = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: endpointOf(table.endpoint) });
    try {
      const refused = outsider.send(new GetItemCommand({ TableName: TABLE, Key: key }));
      await expect(refused).rejects.toMatchObject({
        name: 'UnrecognizedClientException',
        $metadata: { httpStatusCode: 403 },
      });
    } finally {
      outsider.destroy();
    }
    // The server's own client still reads the item the outsider could not.
    const own = await client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
    expect(own.Item?.[KEY]).toEqual({ S: 'someone' });
  });

  it('carries a long random path in its endpoint, different for every table', async () => {
    const other = await startEmbeddedTable('other');
    try {
      const paths = [table.endpoint, other.endpoint].map((e) => new URL(e).pathname);
      for (const path of paths) expect(path).toMatch(/^\/[A-Za-z0-9_-]{32}$/);
      expect(paths[0]).not.toBe(paths[1]);
    } finally {
      await other.close();
    }
  });
});

// One live slice of Node's 8 KB Buffer pool keeps the whole pool: a stored counter must not.
describe("the embedded table's store", () => {
  it('keeps keys and values in memory of their own size, not in slices of a shared pool', async () => {
    // The store class dynalite itself uses, repaired when a table starts (beforeAll above).
    const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
    const { MemoryLevel } = fromDynalite('memory-level') as {
      MemoryLevel: new (
        options: object,
      ) => {
        put(key: Buffer, value: Buffer): Promise<void>;
        batch(ops: Array<{ type: 'put'; key: Buffer; value: Buffer }>): Promise<void>;
        iterator(): { all(): Promise<Array<[Buffer, Buffer]>> };
      };
    };
    const store = new MemoryLevel({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const pooled = (text: string): Buffer => Buffer.from(text);
    expect(pooled('x').buffer.byteLength).toBeGreaterThan(1);
    await store.put(pooled('caller-a'), pooled('{"n":1}'));
    await store.batch([{ type: 'put', key: pooled('caller-b'), value: pooled('{"n":2}') }]);
    const entries = await store.iterator().all();
    expect(entries.map(([k, v]) => [k.toString(), v.toString()])).toEqual([
      ['caller-a', '{"n":1}'],
      ['caller-b', '{"n":2}'],
    ]);
    for (const bytes of entries.flat()) expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
  });
});
