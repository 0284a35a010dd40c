/**
 * Benchmark section: the local server's embedded table under a stream of new callers. dynalite
 * has no TTL, so without a sweep every caller's counters stay in memory for good; with the
 * sweep the local app runs, only live windows remain. 50,000 distinct callers each spend one
 * check through the real limiter, on a clock that runs five simulated days, so both minute and
 * day windows expire during the run; heap and RSS (after GC), array buffers and items are read
 * every 10,000 callers. RSS is what the machine pays, heap only what V8 reports.
 */

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { loadConfig } from '../../functions/core/config.ts';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import type { SourceAddress } from '../../functions/core/source-address.ts';
import { startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { tableLimiter } from '../support/handler-deps.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Local table memory over 50,000 callers';

const CALLERS = 50_000;
const CHECKPOINT = 10_000;
const BATCH = 20;
const SIMULATED_MS = 5 * 86_400_000;
/** The local app sweeps every minute of wall time; here every simulated hour, for run time. */
const SWEEP_EVERY_MS = 3_600_000;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Memory after three full collections, in MB. */
function memoryMb(): { heapMb: number; rssMb: number; buffersMb: number } {
  for (let i = 0; i < 3; i++) gc();
  const { heapUsed, rss, arrayBuffers } = process.memoryUsage();
  return { heapMb: heapUsed / 2 ** 20, rssMb: rss / 2 ** 20, buffersMb: arrayBuffers / 2 ** 20 };
}

function caller(n: number): SourceAddress {
  return { address: `11.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, family: 4, range: 'unicast' };
}

interface Row {
  readonly callers: number;
  readonly heapMb: number;
  readonly rssMb: number;
  readonly buffersMb: number;
  readonly items: number;
}

async function measure(sweep: boolean): Promise<{ rows: Row[]; seconds: number; swept: number }> {
  const config = loadConfig({ RATE_LIMIT_PER_MINUTE: '1000', RATE_LIMIT_PER_DAY: '1000' });
  const start = Date.UTC(2030, 0, 1);
  let clock = start;
  const table = await startEmbeddedTable(config.tableName, { now: () => clock });
  const { limiter, destroy } = tableLimiter(config, table.endpoint, () => clock, { patient: true });
  const counter = createDynamoDbClient({ region: 'us-east-1', dynamodbEndpoint: table.endpoint });
  const items = async (): Promise<number> => {
    let count = 0;
    let from: Record<string, never> | undefined;
    do {
      const page = await counter.send(
        new ScanCommand({ TableName: config.tableName, Select: 'COUNT', ExclusiveStartKey: from }),
      );
      count += page.Count ?? 0;
      from = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (from !== undefined);
    return count;
  };
  const rows: Row[] = [{ callers: 0, ...memoryMb(), items: 0 }];
  const step = SIMULATED_MS / CALLERS;
  let nextSweep = start + SWEEP_EVERY_MS;
  let swept = 0;
  const started = performance.now();
  try {
    for (let n = 0; n < CALLERS; n += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, (_, i) => limiter(caller(n + i), 1)));
      clock += step * BATCH;
      if (sweep && clock >= nextSweep) {
        swept += await table.sweep();
        nextSweep += SWEEP_EVERY_MS;
      }
      if ((n + BATCH) % CHECKPOINT === 0) rows.push({ callers: n + BATCH, ...memoryMb(), items: await items() });
    }
    return { rows, seconds: (performance.now() - started) / 1000, swept };
  } finally {
    destroy();
    counter.destroy();
    await table.close();
  }
}

/** Runs the section; Markdown. */
export async function run(): Promise<string> {
  const without = await measure(false);
  const withSweep = await measure(true);
  const lines = [
    `${CALLERS.toLocaleString('en')} distinct IPv4 callers, one check each, through the real limiter on the in-process dynalite (heap includes dynalite), ${BATCH} at a time, over ${SIMULATED_MS / 86_400_000} simulated days; with the sweep, expired counters are deleted every simulated hour (${withSweep.swept.toLocaleString('en')} in all). Reproduce: \`npm run bench -- "local table"\`.`,
    '',
    '| callers so far | heap MB, no sweep | items, no sweep | heap MB, swept | RSS MB, swept | array buffers MB, swept | items, swept |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...without.rows.map((row, i) => {
      const swept = withSweep.rows[i];
      return `| ${row.callers.toLocaleString('en')} | ${row.heapMb.toFixed(1)} | ${row.items.toLocaleString('en')} | ${swept?.heapMb.toFixed(1)} | ${swept?.rssMb.toFixed(1)} | ${swept?.buffersMb.toFixed(1)} | ${swept?.items.toLocaleString('en')} |`;
    }),
    '',
    `Run time: ${without.seconds.toFixed(0)} s without the sweep, ${withSweep.seconds.toFixed(0)} s with it (sweeps included).`,
  ];
  return lines.join('\n');
}
