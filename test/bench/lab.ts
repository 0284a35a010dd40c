/**
 * Benchmark section: the verdict lab (test/lab) run as a contest between Dialback and
 * `nmap -sT`, on the same client ports and nftables rules, from the same checker namespace.
 * For each scenario: how often each tool gave the right verdict (state and reason, DESIGN §2),
 * its median, mean and p95 time to the verdict, and the SYNs it sent per port (an nftables counter
 * on the checker's output, before any loss). Needs root; without it, says why and makes no table.
 */
import { callDialback, checkResults, type DialbackServer, LAB_SERVER_ENV } from '../support/lab/dialback.ts';
import { type Lab, startLab } from '../support/lab/lab.ts';
import { nmapScan } from '../support/lab/nmap.ts';
import {
  applySysctls,
  checkerRuleset,
  clientRuleset,
  KERNEL_ICMP_LIMITS,
  REJECT_BLOCKS,
  type RejectBlock,
  rejectBlock,
  rejectBlocksRuleset,
  SYN_COUNTER,
  type VerdictRow,
  verdictRow,
  verdictRows,
} from '../support/lab/rules.ts';
import {
  contestRows,
  counting,
  type Figures,
  labUnsupported,
  mapLimit,
  merge,
  type Outcome,
  probeFigures,
  quantile,
  repeat,
  same,
  type Verdict,
} from './contest.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Verdict lab: Dialback and nmap -sT on the same firewall rules';

const COMMAND = 'npm run bench -- lab   # as root, with nft, nmap, ip and taskset';

/** Rounds over every clean rule; loss trials per port; rounds of the 10-port check. */
const CLEAN_ROUNDS = 3;
const LOSS_OPEN_TRIALS = 200;
const LOSS_DROPPED_TRIALS = 20;
const MULTI_ROUNDS = 10;
/** HTTP checks of the open port, one at a time, for the end-to-end figure under the table. */
const HTTP_CHECKS = 20;
/** Checks in flight at once, the same for both tools so neither is timed under more load. */
const CONCURRENCY = 8;
/** Ten-port checks per rate-limited row (one at a time, `REFILL_MS` apart), and mixed checks. */
const RATE_LIMITED_CHECKS = 8;
const MIXED_CHECKS = 4;
/** Pause before each rate-limited check: the client's burst of ICMP errors refills at one a second. */
const REFILL_MS = 5000;

/** Dialback's probe, `trials` times over the ports of `rows` together; the shipped schedule and deadline. */
function dialbackRuns(
  lab: Lab,
  family: 4 | 6,
  rows: readonly VerdictRow[],
  trials: number,
  concurrency: number,
): Promise<Figures> {
  const expected = new Map(rows.map((r) => [r.port, r.expected]));
  return probeFigures(
    lab.pair,
    SYN_COUNTER,
    { family, ports: rows.map((r) => r.port), trials, concurrency },
    (port) => expected.get(port) as Verdict,
  );
}

/** Dialback, `trials` single-port runs on each row in turn. */
async function dialbackEach(lab: Lab, family: 4 | 6, rows: readonly VerdictRow[], trials: number): Promise<Figures> {
  const parts: Figures[] = [];
  for (const row of rows) parts.push(await dialbackRuns(lab, family, [row], trials, Math.min(trials, CONCURRENCY)));
  return merge(parts);
}

/** Median round trip of `count` HTTP checks of `row`, one after another, from the client. */
async function httpMedian(lab: Lab, family: 4 | 6, row: VerdictRow, count: number): Promise<number> {
  const server = lab.servers.get(family) as DialbackServer;
  const answers = await callDialback(lab.pair.client, server, Array(count).fill(`/check/${row.port}`), 1);
  for (const answer of answers) {
    if (!same(checkResults(answer.body)[0], row.expected)) throw new Error(`HTTP check disagreed: ${answer.body}`);
  }
  return quantile(
    answers.map((a) => a.ms).sort((a, b) => a - b),
    0.5,
  );
}

/** Nmap, one `nmap -sT -p <port>` per item of `rows`; its time is its own elapsed time. */
async function nmapSingles(lab: Lab, family: 4 | 6, rows: readonly VerdictRow[]): Promise<Figures> {
  const address = lab.pair.client.address(family);
  const { result, sent } = await counting(lab.pair, SYN_COUNTER, () =>
    mapLimit(rows, CONCURRENCY, (row) => nmapScan(lab.pair.checker, address, family, [row.port])),
  );
  const outcomes = result.map((run, i) => {
    const row = rows[i] as VerdictRow;
    return { correct: same(run.verdicts.get(row.port), row.expected), ms: run.elapsedMs };
  });
  return { outcomes, sent, ports: rows.length };
}

/** Nmap, `rounds` scans of the ports of `rows` together, one at a time. */
async function nmapMulti(lab: Lab, family: 4 | 6, rows: readonly VerdictRow[], rounds: number): Promise<Figures> {
  const outcomes: Outcome[] = [];
  let sent = 0;
  for (let round = 0; round < rounds; round++) {
    const n = await counting(lab.pair, SYN_COUNTER, () =>
      nmapScan(
        lab.pair.checker,
        lab.pair.client.address(family),
        family,
        rows.map((r) => r.port),
      ),
    );
    sent += n.sent;
    for (const row of rows) {
      outcomes.push({ correct: same(n.result.verdicts.get(row.port), row.expected), ms: n.result.elapsedMs });
    }
  }
  return { outcomes, sent, ports: rows.length * rounds };
}

/** Both tools, `rounds` times over the ports of `rows` checked together, one check at a time. */
async function multiPort(
  lab: Lab,
  family: 4 | 6,
  rows: readonly VerdictRow[],
  rounds: number,
): Promise<[Figures, Figures]> {
  return [await dialbackRuns(lab, family, rows, rounds, 1), await nmapMulti(lab, family, rows, rounds)];
}

/** `block`'s ports as lab rows of `family`. */
function blockRows(block: RejectBlock, family: 4 | 6, count = block.ports.length): VerdictRow[] {
  return block.ports.slice(0, count).map((port) => ({ name: block.name, port, expected: block.expected[family] }));
}

/**
 * Both tools, `checks` times over the ports of `rows` together, each check after a
 * `REFILL_MS` pause so the client's ICMP rate limit starts every check with its burst.
 */
async function pacedMultiPort(
  lab: Lab,
  family: 4 | 6,
  rows: readonly VerdictRow[],
  checks: number,
): Promise<[Figures, Figures]> {
  const parts: Array<[Figures, Figures]> = [];
  for (let i = 0; i < checks; i++) {
    await new Promise((r) => setTimeout(r, REFILL_MS));
    const dialback = await dialbackRuns(lab, family, rows, 1, 1);
    await new Promise((r) => setTimeout(r, REFILL_MS));
    parts.push([dialback, await nmapMulti(lab, family, rows, 1)]);
  }
  return [merge(parts.map((p) => p[0])), merge(parts.map((p) => p[1]))];
}

/** Runs the section; returns its Markdown. */
export async function run(): Promise<string> {
  const unsupported = await labUnsupported('verdict lab', COMMAND);
  if (unsupported !== undefined) return unsupported;
  // The shipped deadline (PROBE_TIMEOUT_MS unset) and attempt schedule.
  const { PROBE_TIMEOUT_MS: _, ...env } = LAB_SERVER_ENV;
  const lab = await startLab('bench', env);
  const { pair } = lab;
  try {
    const { lines, add } = contestRows();

    const http = new Map<4 | 6, number>();
    for (const family of [4, 6] as const) {
      http.set(family, await httpMedian(lab, family, verdictRow(family, 'listener'), HTTP_CHECKS));
      const rows = verdictRows(family).filter((r) => !r.random);
      add(
        `clean: every rule (${rows.length} rows × ${CLEAN_ROUNDS})`,
        family,
        await dialbackEach(lab, family, rows, CLEAN_ROUNDS),
        await nmapSingles(lab, family, repeat(rows, CLEAN_ROUNDS)),
      );
    }
    for (const loss of [30, 50]) {
      await pair.checker.nft(checkerRuleset(loss));
      for (const family of [4, 6] as const) {
        const open = verdictRow(family, 'listener');
        add(
          `${loss}% SYN loss: open port`,
          family,
          await dialbackEach(lab, family, [open], LOSS_OPEN_TRIALS),
          await nmapSingles(lab, family, repeat([open], LOSS_OPEN_TRIALS)),
        );
        const dropped = verdictRow(family, 'drop');
        add(
          `${loss}% SYN loss: dropped port`,
          family,
          await dialbackEach(lab, family, [dropped], LOSS_DROPPED_TRIALS),
          await nmapSingles(lab, family, repeat([dropped], LOSS_DROPPED_TRIALS)),
        );
      }
    }
    await pair.checker.nft(checkerRuleset(0));
    const tenRows = (family: 4 | 6): VerdictRow[] =>
      verdictRows(family)
        .filter((r) => !r.random)
        .slice(0, 10);
    for (const family of [4, 6] as const) {
      add(
        `10 ports at once (${MULTI_ROUNDS} checks)`,
        family,
        ...(await multiPort(lab, family, tenRows(family), MULTI_ROUNDS)),
      );
    }
    // Linux answers a burst of 6 ICMP errors per destination, then one a second (both families on 6.18).
    await pair.client.nft(`${clientRuleset()}\n${rejectBlocksRuleset()}`);
    await applySysctls(pair.client, KERNEL_ICMP_LIMITS);
    for (const family of [4, 6] as const) {
      add(
        `10 ports at once, client's default ICMP rate limit (${MULTI_ROUNDS} checks back to back)`,
        family,
        ...(await multiPort(lab, family, tenRows(family), MULTI_ROUNDS)),
      );
    }
    for (const block of REJECT_BLOCKS) {
      for (const family of [4, 6] as const) {
        add(
          `10 ports "${block.name}", default ICMP rate limit (${RATE_LIMITED_CHECKS} checks, ${REFILL_MS / 1000} s apart)`,
          family,
          ...(await pacedMultiPort(lab, family, blockRows(block, family), RATE_LIMITED_CHECKS)),
        );
      }
    }
    const rejected = rejectBlock('reject with icmpx port-unreachable');
    for (const family of [4, 6] as const) {
      const mixed = [verdictRow(family, 'listener'), verdictRow(family, 'drop'), ...blockRows(rejected, family, 8)];
      add(
        `mixed: open, dropped, 8 × port-unreachable, default ICMP rate limit (${MIXED_CHECKS} checks, ${REFILL_MS / 1000} s apart)`,
        family,
        ...(await pacedMultiPort(lab, family, mixed, MIXED_CHECKS)),
      );
    }

    const nmapVersion = `Nmap ${/Nmap version (\S+)/.exec(await pair.checker.exec(['nmap', '--version']))?.[1] ?? ''}`;
    return [
      `Reproduce: \`${COMMAND}\`.`,
      '',
      '- Checker and client are two network namespaces on one veth pair, no added delay; rules, loss and',
      '  counters are nftables (test/support/lab/rules.ts). The checker uses classic SYN backoff',
      '  (`net.ipv4.tcp_syn_linear_timeouts=0`). The client answers every rejected SYN (its ICMP rate limit',
      "  is off) except in the last scenarios, which keep Linux's default: a burst of 6 errors per",
      '  destination, then one a second. The paced rate-limit checks wait for the burst to refill first, as',
      "  a person's checks would; the back-to-back row does not, so later checks start with less burst.",
      `- Dialback: its probe with the shipped schedule and deadline, run in the checker (${CONCURRENCY} checks in`,
      "  flight at once; 10-port checks one at a time); its time is the probe's own, to the last verdict",
      '  of the check. Over HTTP from the client, through the local server (whose rate-limiter write goes',
      `  to an in-memory dynalite), an open port's check took a median ${Math.round(http.get(4) ?? 0)} ms (IPv4) and ${Math.round(http.get(6) ?? 0)} ms (IPv6).`,
      `- ${nmapVersion}: \`nmap -sT -Pn -n --reason\` from the checker, default timing, ${CONCURRENCY} processes at`,
      '  once (10-port scans one at a time); its time is its own `runstats` elapsed time, without process start-up.',
      '- "Correct" is state and reason as DESIGN §2 gives them. SYNs are counted on the checker before',
      '  any loss is applied, per port asked about.',
      '- Under the ICMP rate limit, a check of ten rejected ports is as slow as the limit: after the',
      '  burst of 6, one answer a second, so about 4 s for ten; the times are per check (every port of',
      "  it), so the mixed row's time is its dropped port's, which clears by the deadline as a plain drop.",
      '',
      '| scenario | family | Dialback correct | nmap -sT correct | Dialback median / mean / p95 ms | nmap median / mean / p95 ms | Dialback SYNs per port | nmap SYNs per port |',
      '|---|---|---|---|---|---|---|---|',
      ...lines,
    ].join('\n');
  } finally {
    await pair.destroy();
  }
}
