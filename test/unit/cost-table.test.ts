/**
 * The README's cost table is the one `test/bench/cost.ts` computes, cold starts included, and
 * the multi-region paragraph quotes that table's totals rather than figures of its own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHECK, costRows, costTotals, money, renderCostTable, US_EAST_1 } from '../bench/cost.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('cost per million checks', () => {
  it('is in the README exactly as the script computes it', () => {
    expect(README).toContain(renderCostTable(US_EAST_1));
  });

  it('bills cold starts: init at the function memory, one GetSecretValue and the warm-up write each', () => {
    const cold = costRows(US_EAST_1).find((row) => row.item === 'Cold starts');
    const perColdStart = 0.25 * CHECK.coldStartSeconds * 0.0000133334 + 0.05 / 10_000 + 0.625 / 1e6;
    expect(cold?.answering).toBeCloseTo(CHECK.coldStartsPerCheck * 1e6 * perColdStart, 6);
    expect(cold?.how).toContain('1 per 100 checks');
  });

  it('totals every row, and the multi-region paragraph quotes those totals per region', () => {
    const totals = costTotals(US_EAST_1);
    const rows = costRows(US_EAST_1);
    expect(totals.answering).toBeCloseTo(
      rows.reduce((sum, row) => sum + row.answering, 0),
      9,
    );
    const quoted = /\(≈ \$([\d.]+) with open\s+or closed ports and ≈ \$([\d.]+) with filtered ones, per region/.exec(
      README,
    );
    expect(quoted?.slice(1)).toEqual([money(totals.answering), money(totals.filtered)]);
    const three = /≈ \$([\d.]+) and ≈ \$([\d.]+) for three regions/.exec(README);
    expect(three?.slice(1)).toEqual([
      (3 * Number(money(totals.answering))).toFixed(2),
      (3 * Number(money(totals.filtered))).toFixed(2),
    ]);
  });
});
