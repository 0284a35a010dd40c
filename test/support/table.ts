/**
 * One embedded dynalite per test file and a fresh counters table per test, so counts never
 * leak between tests. Registers its own hooks; read `endpoint` and `tableName` inside tests.
 */
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
