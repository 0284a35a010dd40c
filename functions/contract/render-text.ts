/**
 * Plain-text renderings for terminal clients, aligned like Nmap's port table so that people
 * who know `nmap` read it at a glance and scripts can `awk` it.
 */
import { hintLines, meaningOf } from './verdict-text.ts';
import { type CheckResponse, PORT_STATES, type PortResult, type PortState, protocolOf } from './wire.ts';

/** The legend lists states in this order, whatever order the ports came in. */
const STATE_ORDER: readonly PortState[] = PORT_STATES;

function pad(value: string, width: number): string {
  return value.padEnd(width);
}

function rtt(result: PortResult): string {
  return result.rttMs === null ? '-' : `${result.rttMs.toFixed(1)} ms`;
}

/**
 * The check as an Nmap-style table, followed by what each state seen means (per reason where
 * the reason changes the meaning), and `notice` (e.g. that a local check is not the Internet's view).
 */
export function renderCheckText(check: CheckResponse, notice?: string): string {
  const rows = check.results.map((r) => [`${r.port}/${protocolOf(r)}`, r.state, r.reason, rtt(r)] as const);
  const header = ['PORT', 'STATE', 'REASON', 'RTT'] as const;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)) + 2);
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : pad(cell, widths[i] ?? 0)))
      .join('')
      .trimEnd();
  // One legend line per protocol and meaning seen: TCP's first, then UDP's, each in state order
  // (TCP's per reason where the reason changes the meaning).
  const ordered = [...check.results].sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state));
  const legend = [
    ...new Set((['tcp', 'udp'] as const).flatMap((p) => ordered.filter((r) => protocolOf(r) === p).map(meaningOf))),
  ];
  const hints = hintLines(check.results);
  return [
    `Dialback: ${check.ip} checked from ${check.checkedFrom} (timeout ${check.timeoutMs} ms)`,
    ...(check.egress.fixed
      ? [`Probes leave from ${check.egress.addresses.join(', ')}: allow these in your firewall.`]
      : []),
    '',
    line(header),
    ...rows.map(line),
    '',
    ...(hints.length > 0 ? [...hints, ''] : []),
    ...legend,
    ...(notice === undefined ? [] : ['', notice]),
    '',
  ].join('\n');
}
