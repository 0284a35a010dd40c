/**
 * Benchmark section: what the rate limiter's writes cost over a whole day, for the three callers
 * of a typical day, on dynalite with an injected clock. Every write is priced by DynamoDB's rule (the
 * larger of the item before and after, in 1 KB units) from the item actually stored.
 */
import { createCounterTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { typicalCallers, walkDay } from '../support/write-units.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Rate limiter: writes and write units per check';

const perCheck = (total: number, checks: number): string => (checks === 0 ? '–' : (total / checks).toFixed(2));

/** Runs the section and returns its Markdown. */
export async function run(): Promise<string> {
  const table = await startEmbeddedTable('bench-limiter-base');
  const rows: string[] = [];
  try {
    for (const [index, day] of typicalCallers().entries()) {
      const tableName = `bench-limiter-${index}`;
      await createCounterTable(table.endpoint, tableName);
      const c = await walkDay(table.endpoint, tableName, day);
      rows.push(
        `| ${c.name} | ${c.allowed} | ${c.refused} | ${perCheck(c.writesAllowed, c.allowed)} | ${perCheck(c.unitsAllowed, c.allowed)} | ${c.refused === 0 ? '–' : '1'} | ${perCheck(c.writesRefused, c.refused)} | ${c.maxUnitsOneWrite} | ${c.maxItemBytes} |`,
      );
    }
  } finally {
    await table.close();
  }
  return [
    "Limits 30 a minute and 500 a day (the defaults). One `UpdateItem` spends both windows; a refusal by either writes nothing but is billed as a write. On DynamoDB a refusal returns the old item with it (`ReturnValuesOnConditionCheckFailure`), so it is one write; dynalite does not, and the limiter reads the counts back with a no-op `ADD 0`, a second write that only local runs make. Item sizes are DynamoDB's: attribute names plus values, numbers at 1 byte per two digits plus 1.",
    '',
    '| caller (one day) | allowed | refused | writes per allowed | write units per allowed | writes per refused, DynamoDB | writes per refused, dynalite | most units one write | largest item, bytes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Reproduce: `npm run bench -- limiter`',
  ].join('\n');
}
