/**
 * What the two lab contests (lab.ts: Dialback vs `nmap -sT`; udp-lab.ts: vs `nmap -sU`) share:
 * the lab guard, a probe run counted on the wire and scored, the figures of one tool in one
 * scenario, and the table row that sets the two tools side by side.
 */
import { readCounter, runProbeTrials } from '../support/lab/dialback.ts';
import type { ProbeJob } from '../support/lab/probe-runner.ts';
import { type LabPair, namespaceSupport } from '../support/netns.ts';

/** A verdict as both tools report it. */
export interface Verdict {
  readonly state: string;
  readonly reason: string;
}

/** One port-check by one tool: right or not, and how long it took. */
export interface Outcome {
  readonly correct: boolean;
  readonly ms: number;
}

/** One tool's figures for one scenario. */
export interface Figures {
  readonly outcomes: readonly Outcome[];
  /** Packets the checker sent (SYNs or datagrams), counted by nftables before any loss. */
  readonly sent: number;
  /** Ports asked about (a 10-port check counts 10). */
  readonly ports: number;
}

/** Whether a tool's verdict is the one expected. */
export function same(got: Verdict | undefined, want: Verdict): boolean {
  return got?.state === want.state && got.reason === want.reason;
}

/** The `q` quantile of ascending `sorted` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** `fn` over `items`, at most `limit` at once, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `items` `times` times over, in order. */
export function repeat<T>(items: readonly T[], times: number): T[] {
  return Array.from({ length: times }, () => items).flat();
}

/** The figures of several runs as one. */
export function merge(parts: readonly Figures[]): Figures {
  return {
    outcomes: parts.flatMap((p) => p.outcomes),
    sent: parts.reduce((n, p) => n + p.sent, 0),
    ports: parts.reduce((n, p) => n + p.ports, 0),
  };
}

/** Runs `work` and counts what the checker's nftables counter `counter` saw meanwhile. */
export async function counting<T>(
  pair: LabPair,
  counter: string,
  work: () => Promise<T>,
): Promise<{ result: T; sent: number }> {
  const before = await readCounter(pair.checker, counter);
  const result = await work();
  return { result, sent: (await readCounter(pair.checker, counter)) - before };
}

/**
 * Dialback's probe, `job.trials` runs over `job.ports` together, in the checker: its own time to
 * the verdicts, as Nmap's is its own elapsed time, and each port scored against `expected`.
 */
export async function probeFigures(
  pair: LabPair,
  counter: string,
  job: Omit<ProbeJob, 'address'>,
  expected: (port: number) => Verdict,
): Promise<Figures> {
  const { result, sent } = await counting(pair, counter, () =>
    runProbeTrials(pair.checker, { ...job, address: pair.client.address(job.family) }, 600_000),
  );
  const outcomes = result.flatMap((trial) =>
    job.ports.map((port) => ({
      correct: same(
        trial.results.find((r) => r.port === port),
        expected(port),
      ),
      ms: trial.elapsedMs,
    })),
  );
  return { outcomes, sent, ports: job.ports.length * job.trials };
}

function summary(f: Figures): { rate: string; times: string; perPort: string } {
  const right = f.outcomes.filter((o) => o.correct).length;
  const times = f.outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return {
    rate: `${((100 * right) / f.outcomes.length).toFixed(1)}% (${right}/${f.outcomes.length})`,
    times: [quantile(times, 0.5), times.reduce((a, b) => a + b, 0) / times.length, quantile(times, 0.95)]
      .map(Math.round)
      .join(' / '),
    perPort: (f.sent / f.ports).toFixed(1),
  };
}

/**
 * The contest table's rows: `add` writes one (scenario, family, then each figure for Dialback
 * and Nmap side by side) to `lines` and, as it goes, to stderr.
 */
export function contestRows(): {
  lines: string[];
  add: (scenario: string, family: 4 | 6, dialback: Figures, nmap: Figures) => void;
} {
  const lines: string[] = [];
  const add = (scenario: string, family: 4 | 6, dialback: Figures, nmap: Figures): void => {
    const d = summary(dialback);
    const n = summary(nmap);
    const line = `| ${scenario} | IPv${family} | ${d.rate} | ${n.rate} | ${d.times} | ${n.times} | ${d.perPort} | ${n.perPort} |`;
    process.stderr.write(`${line}\n`);
    lines.push(line);
  };
  return { lines, add };
}

/** Why a lab contest cannot run here (said on stderr too), or undefined when it can. */
export async function labUnsupported(lab: string, command: string): Promise<string | undefined> {
  const unsupported = await namespaceSupport(['nmap', 'taskset']);
  if (unsupported === undefined) return undefined;
  const why = `Not run: the ${lab} ${unsupported}. Reproduce with \`${command}\`.`;
  process.stderr.write(`${why}\n`);
  return why;
}
