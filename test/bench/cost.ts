/**
 * Benchmark section: the README's *Cost per million checks* table, computed from stated list
 * prices and the measured or assumed inputs below, so the table and the paragraphs that quote
 * it come from one place. Every region's stack bills this on its own: a check from N regions
 * costs the table N times.
 */

/** List prices of one region, in US dollars. */
export interface RegionPrices {
  readonly region: string;
  /** Lambda arm64, per GB-second. */
  readonly lambdaGbSecond: number;
  /** Lambda, per million requests. */
  readonly lambdaPerMillion: number;
  /** HTTP API, per million requests. */
  readonly httpApiPerMillion: number;
  /** DynamoDB on-demand, per million write request units. */
  readonly writePerMillion: number;
  /** CloudWatch Logs ingestion, per GB. */
  readonly logsPerGb: number;
  /** Secrets Manager, per 10 000 API calls. */
  readonly secretsPer10k: number;
  /** NAT gateway data processing, per GB. */
  readonly natPerGb: number;
}

/** us-east-1 list prices as known when written; check the AWS pricing pages before relying on them. */
export const US_EAST_1: RegionPrices = Object.freeze({
  region: 'us-east-1',
  lambdaGbSecond: 0.0000133334,
  lambdaPerMillion: 0.2,
  httpApiPerMillion: 1.0,
  writePerMillion: 0.625,
  logsPerGb: 0.5,
  secretsPer10k: 0.05,
  natPerGb: 0.045,
});

/** What one check uses, measured where it could be (BENCHMARKS.md) and assumed where not. */
export const CHECK = Object.freeze({
  memoryGb: 0.25,
  /** Billed seconds of a check whose port answers: ≈ 12 ms CPU at 256 MB, ≈ 5 ms to DynamoDB, ≈ 30 ms to the caller. */
  answeringSeconds: 0.047,
  /** Billed seconds of a check that waits out the 3 s deadline. */
  filteredSeconds: 3.02,
  /** Access-log line and the function's line, KB. */
  accessLogKb: 0.31,
  functionLogKb: 0.22,
  /** Bytes through the NAT gateway per probed IPv4 port (`vpc` only): handshake and close, both ways. */
  natKbPerPort: 0.5,
  /**
   * A cold start's extra billed seconds at 256 MB: the init phase (≈ 55 ms of CPU importing the
   * bundle, billed since Lambda bills init) and the first request's key read and SDK set-up
   * (≈ 60 ms of CPU), both at 256 MB's 14.5 % of a vCPU.
   */
  coldStartSeconds: 0.8,
  /** Cold starts per check at which they are amortised: one per 100 checks, a quiet deployment's rate. */
  coldStartsPerCheck: 0.01,
});

/** One row: what it is, how it is computed, and its cost per million checks. */
export interface CostRow {
  readonly item: string;
  readonly how: string;
  readonly answering: number;
  readonly filtered: number;
}

/** Decimal gigabytes, as the table always counted them (binary ones would make logs and NAT data 7 % cheaper). */
const GB_PER_KB = 1e-6;

/** The rows of one region's table, per million checks of one port each, `default` egress. */
export function costRows(p: RegionPrices): CostRow[] {
  const compute = (seconds: number): number => CHECK.memoryGb * seconds * p.lambdaGbSecond * 1e6;
  const both = (item: string, how: string, cost: number): CostRow => ({ item, how, answering: cost, filtered: cost });
  const logsKb = CHECK.accessLogKb + CHECK.functionLogKb;
  const cold =
    CHECK.coldStartsPerCheck *
    1e6 *
    (CHECK.memoryGb * CHECK.coldStartSeconds * p.lambdaGbSecond + p.secretsPer10k / 1e4 + p.writePerMillion / 1e6);
  return [
    {
      item: 'Lambda compute',
      how: `${CHECK.memoryGb} GB × billed seconds × $${p.lambdaGbSecond} × 10⁶; ≈ ${CHECK.answeringSeconds} s when the port answers, ≈ ${CHECK.filteredSeconds} s when it waits out the 3 s deadline`,
      answering: compute(CHECK.answeringSeconds),
      filtered: compute(CHECK.filteredSeconds),
    },
    both('Lambda requests', `$${money(p.lambdaPerMillion)} per million`, p.lambdaPerMillion),
    both('HTTP API', `$${money(p.httpApiPerMillion)} per million requests`, p.httpApiPerMillion),
    both(
      'DynamoDB',
      '1 conditional `UpdateItem` per check covering the minute and the day, whatever the port count; the item stays under 240 bytes all day, so 1 WRU (`npm run bench limiter`)',
      p.writePerMillion,
    ),
    both(
      'CloudWatch Logs',
      `${logsKb.toFixed(2)} KB per check: the access-log line (≈ ${CHECK.accessLogKb} KB) and the function's line (≈ ${CHECK.functionLogKb} KB), × $${money(p.logsPerGb)} per GB`,
      logsKb * GB_PER_KB * p.logsPerGb * 1e6,
    ),
    both(
      'Cold starts',
      `amortised at ${CHECK.coldStartsPerCheck * 100} per 100 checks; each bills ≈ ${CHECK.coldStartSeconds} s more at ${CHECK.memoryGb} GB (init, then the first request's key read and SDK set-up), one \`GetSecretValue\` ($${p.secretsPer10k} per 10 000) and the warm-up write (1 WRU)`,
      cold,
    ),
  ];
}

/** The NAT gateway's data charge per probed IPv4 port, per million checks (`vpc` only). */
export function natPerPort(p: RegionPrices): number {
  return CHECK.natKbPerPort * GB_PER_KB * p.natPerGb * 1e6;
}

/** Totals of one region: `default`, and `vpc` with one port per check. */
export function costTotals(p: RegionPrices): {
  answering: number;
  filtered: number;
  vpcAnswering: number;
  vpcFiltered: number;
} {
  const rows = costRows(p);
  const answering = rows.reduce((sum, row) => sum + row.answering, 0);
  const filtered = rows.reduce((sum, row) => sum + row.filtered, 0);
  const nat = natPerPort(p);
  return { answering, filtered, vpcAnswering: answering + nat, vpcFiltered: filtered + nat };
}

/** Dollars to two places, or three where a price is exactly that (a million WRUs' $0.625). */
export function money(value: number): string {
  const three = value.toFixed(3);
  return Number(three) === value && !three.endsWith('0') ? three : value.toFixed(2);
}

/** The Markdown table of one region, as the README carries it. */
export function renderCostTable(p: RegionPrices): string {
  const totals = costTotals(p);
  const nat = natPerPort(p);
  const lines = [
    '| item | how it is computed | open/closed ports | filtered ports |',
    '|---|---|---|---|',
    ...costRows(p).map((row) => `| ${row.item} | ${row.how} | $${money(row.answering)} | $${money(row.filtered)} |`),
    `| **total, \`default\`** | | **≈ $${money(totals.answering)}** | **≈ $${money(totals.filtered)}** |`,
    `| NAT gateway data (\`vpc\` only) | IPv4 probes pass the NAT gateway: ≈ ${CHECK.natKbPerPort} KB per probed port (handshake and close, both ways) × $${money(p.natPerGb)} per GB; IPv6 probes and DynamoDB calls do not | $${money(nat)} per port | $${money(nat)} per port |`,
    `| **total, \`vpc\`** (one port per check; up to $${money(nat * 9)} more at 10) | | **≈ $${money(totals.vpcAnswering)}** | **≈ $${money(totals.vpcFiltered)}** |`,
  ];
  return lines.join('\n');
}

/** Section title in BENCHMARKS.md. */
export const title = 'Cost per million checks, per region';

/** Runs the section and returns its Markdown. */
export async function run(): Promise<string> {
  return [
    `${US_EAST_1.region} list prices (test/bench/cost.ts); each region's stack bills this on its own, so a check from N regions costs it N times. The README carries this table as it is.`,
    '',
    renderCostTable(US_EAST_1),
  ].join('\n');
}
