/**
 * Checks from several regions at once (`GET /regions`, `dialback --from`): what each region
 * answered, one column per region, and what it means when they disagree. The page, the widget,
 * the typed client and the CLI all read the same outcomes through this module, so the
 * diagnosis is written once.
 *
 * A region that did not answer is an error cell in its own column and nothing more: it says
 * nothing about the caller's ports, and the other regions' answers stand.
 */
import { STATE_MEANING } from './verdict-text.ts';
import { type CheckResponse, PORT_STATES, type PortResult, type PortState, protocolOf, type Region } from './wire.ts';

/** Why a region gave no answer. */
export interface RegionFailure {
  /** HTTP status, 0 when no response arrived (network failure, CORS refusal, timeout). */
  readonly status: number;
  readonly message: string;
  /** Seconds to wait (429, 503), when the region said. */
  readonly retryAfterSeconds?: number;
}

/** One region's answer, or why there is none. */
export type RegionOutcome =
  | { readonly region: Region; readonly ok: true; readonly check: CheckResponse }
  | { readonly region: Region; readonly ok: false; readonly error: RegionFailure };

/** A check of `ports` from several regions, in the order `/regions` listed them. */
export interface RegionChecks {
  readonly ports: readonly number[];
  readonly outcomes: readonly RegionOutcome[];
}

/** What a cell shows when its region gave no answer. */
export const ERROR_CELL = 'error';

/** Thrown for a region name the deployment does not list. */
export class UnknownRegion extends RangeError {
  override readonly name = 'UnknownRegion';
}

/**
 * The regions to check from: every one for `all` (or no choice), else those named, in the
 * order given. A name the deployment does not list is refused, naming the ones it does.
 */
export function selectRegions(listed: readonly Region[], from: readonly string[] | 'all' = 'all'): Region[] {
  if (from === 'all') return [...listed];
  return from.map((name) => {
    const region = listed.find((r) => r.name === name);
    if (region === undefined) {
      throw new UnknownRegion(
        `No region "${name}" here; this deployment checks from ${listed.map((r) => r.name).join(', ')}.`,
      );
    }
    return region;
  });
}

/**
 * The TCP result for `port` in one region's outcome, `undefined` when it gave no answer. Regions
 * compare TCP ports only; the primary's own check may carry UDP results of the same numbers.
 */
export function resultIn(outcome: RegionOutcome, port: number): PortResult | undefined {
  return outcome.ok ? outcome.check.results.find((r) => r.port === port && protocolOf(r) === 'tcp') : undefined;
}

/** One cell of the table: the state, or `error`. */
export function regionCell(outcome: RegionOutcome, port: number): PortState | typeof ERROR_CELL {
  return resultIn(outcome, port)?.state ?? ERROR_CELL;
}

function names(regions: readonly string[]): string {
  if (regions.length <= 1) return regions.join('');
  return `${regions.slice(0, -1).join(', ')} and ${regions.at(-1)}`;
}

function thatRegion(regions: readonly string[]): string {
  return regions.length === 1 ? 'that region' : 'those regions';
}

/**
 * What it means when `port` reads differently from different regions; `undefined` when every
 * region that answered agrees. `byState` maps each state to the regions that saw it.
 */
export function regionDisagreement(
  port: number,
  byState: ReadonlyMap<PortState, readonly string[]>,
): string | undefined {
  if (byState.size < 2) return undefined;
  const states = PORT_STATES.filter((s) => byState.has(s));
  const head = `${port}/tcp ${states.map((s) => `${s} from ${names(byState.get(s) ?? [])}`).join(', ')}`;
  const open = byState.has('open');
  const closed = byState.get('closed') ?? [];
  const filtered = byState.get('filtered') ?? [];
  const untestable = byState.get('untestable') ?? [];
  if (untestable.length > 0 && byState.size === 2) {
    return `${head}: ${names(untestable)} could not test it (${STATE_MEANING.untestable.slice('untestable: '.length)}), so only the other answer counts.`;
  }
  if (open && filtered.length > 0) {
    return `${head}: something on the path blocks ${thatRegion(filtered)}: a firewall allowlist or geo-block, or a network on the way that drops it. If you set up no such rule, check again: a lost packet can look the same.`;
  }
  if (open && closed.length > 0) {
    return `${head}: something refuses connections from ${thatRegion(closed)}: a firewall that rejects addresses it does not allow (an allowlist or geo-block) rather than dropping them.`;
  }
  if (closed.length > 0 && filtered.length > 0) {
    return `${head}: nothing accepts it from anywhere, and the path treats the regions differently: a firewall that rejects some sources and drops others.`;
  }
  return `${head}.`;
}

/** Every disagreement, port by port, then every region that gave no answer. */
export function regionDiagnoses(checks: RegionChecks): string[] {
  const notes: string[] = [];
  for (const port of checks.ports) {
    const byState = new Map<PortState, string[]>();
    for (const outcome of checks.outcomes) {
      const result = resultIn(outcome, port);
      if (result !== undefined) byState.set(result.state, [...(byState.get(result.state) ?? []), outcome.region.name]);
    }
    const note = regionDisagreement(port, byState);
    if (note !== undefined) notes.push(note);
  }
  for (const outcome of checks.outcomes) {
    if (!outcome.ok) {
      notes.push(
        `${outcome.region.name}: no answer (${outcome.error.message}); its column says nothing about your ports.`,
      );
    }
  }
  return notes;
}

/**
 * Exit status over every cell, as for one check: 0 when every port is open from every region,
 * 2 when any region gave no answer (an error, as a failed check is), else 1.
 */
export function regionsExitCode(checks: RegionChecks): 0 | 1 | 2 {
  if (checks.outcomes.some((o) => !o.ok)) return 2;
  return checks.outcomes.every((o) => o.ok && o.check.results.every((r) => r.state === 'open')) ? 0 : 1;
}

/** The table as rows of cells: a header row, then one row per port. */
export function regionRows(checks: RegionChecks): string[][] {
  return [
    ['PORT', ...checks.outcomes.map((o) => o.region.name)],
    ...checks.ports.map((port) => [`${port}/tcp`, ...checks.outcomes.map((o) => regionCell(o, port))]),
  ];
}

/** The checks as aligned text for a terminal: who was checked, the table, then the diagnoses. */
export function renderRegionsText(checks: RegionChecks): string {
  const rows = regionRows(checks);
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)) + 2);
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('')
      .trimEnd(),
  );
  const answered = checks.outcomes.find((o) => o.ok);
  const who = answered?.ok ? answered.check.ip : 'your address';
  const notes = regionDiagnoses(checks);
  return [
    `Dialback: ${who} checked from ${checks.outcomes.length} region${checks.outcomes.length === 1 ? '' : 's'}`,
    '',
    ...lines,
    ...(notes.length === 0 ? [] : ['', ...notes]),
    '',
  ].join('\n');
}
