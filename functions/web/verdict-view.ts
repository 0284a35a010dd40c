/**
 * One port's verdict as a card: the state, what it means and what to do next. The server
 * renders it into the page, and the page script renders the same cards for the checks it runs
 * through the two endpoints, so the advice text is written once.
 */
import type { FamiliesView, FamilyView } from '../client/families.ts';
import { askedOf, type PortsAsked } from '../contract/families.ts';
import {
  doctorAdvice,
  explanationOf,
  HINT_TEXT,
  nextStepsOf,
  reasonMeaningOf,
  stateClass,
} from '../contract/verdict-text.ts';
import { type PortResult, type Protocol, protocolOf } from '../contract/wire.ts';
import { html, type SafeHtml } from './html.ts';

function rtt(result: PortResult): string {
  return result.rttMs === null ? 'no round trip' : `round trip ${result.rttMs.toFixed(1)} ms`;
}

/** Where the page's own copy of the CLI is served, for the commands its advice names. */
const CLI_HREF = '/dialback.mjs';

/**
 * Advice text marks commands with backticks; show them as code. A `dialback …` command links to
 * the CLI this deployment serves (one file: `node dialback.mjs …`), so a visitor told to run it
 * can get it.
 */
export function withCode(text: string): SafeHtml {
  const code = (part: string): SafeHtml =>
    part.startsWith('dialback ')
      ? html`<a href="${CLI_HREF}" title="The dialback CLI: one file, run it with node dialback.mjs"><code>${part}</code></a>`
      : html`<code>${part}</code>`;
  return html`${text.split('`').map((part, i) => (i % 2 === 1 ? code(part) : part))}`;
}

/**
 * One port's card. The advice is the same for every port with the same protocol, state and
 * reason, so only the first such card lists it; the others point to it (`sameAs`).
 */
function verdict(result: PortResult, sameAs: PortResult | undefined): SafeHtml {
  const steps = nextStepsOf(result);
  const protocol = protocolOf(result);
  const advice =
    steps.length === 0
      ? html``
      : sameAs === undefined
        ? html`<h4>What to do next</h4>
  <ul>${steps.map((step) => html`<li>${withCode(step)}</li>`)}</ul>`
        : html`<p class="meta">What to do next: as for ${sameAs.port}/${protocolOf(sameAs)} above.</p>`;
  // Only TCP results carry a hint: the UDP probe has no rate-limit rounds.
  const hint = 'hint' in result ? result.hint : undefined;
  return html`<article class="card verdict verdict-${stateClass(result.state)}">
  <h3><span class="mono">${result.port}/${protocol}</span>: <span class="state">${result.state}</span></h3>
  <p>${withCode(explanationOf(result))}</p>
  <p class="meta">Reason <code>${result.reason}</code>: ${reasonMeaningOf(result)}; ${rtt(result)}.</p>
  ${hint === undefined ? '' : html`<p class="recheck" role="note">${withCode(HINT_TEXT[hint])}</p>`}
  ${advice}
</article>`;
}

/**
 * For a check with a port that is not open: the command that walks this machine's side of the
 * chain. The page cannot look inside the visitor's machine; the doctor can.
 */
export function doctorHint(base: string, results: readonly PortResult[]): SafeHtml {
  const advice = doctorAdvice(base, results);
  if (advice === undefined) return html``;
  return html`<p class="card note" id="doctor-hint">${advice.lead}<code>${advice.command}</code></p>`;
}

/** The cards of a check's ports, each kind of advice written out once. */
export function verdicts(results: readonly PortResult[]): SafeHtml[] {
  const first = new Map<string, PortResult>();
  return results.map((result) => {
    const key = `${protocolOf(result)}\n${nextStepsOf(result).join('\n')}`;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, result);
    return verdict(result, earlier);
  });
}

function familyHeading(family: 4 | 6, view: FamilyView): SafeHtml {
  return view.kind === 'checked' ? html`IPv${family} <span class="mono">${view.check.ip}</span>` : html`IPv${family}`;
}

function cell(view: FamilyView, port: number, protocol: Protocol): SafeHtml {
  if (view.kind !== 'checked')
    return html`<td class="meta">${view.kind === 'absent' ? 'not checked' : 'no answer'}</td>`;
  const result = view.check.results.find((r) => r.port === port && protocolOf(r) === protocol);
  return result === undefined
    ? html`<td>-</td>`
    : html`<td class="verdict-${stateClass(result.state)}"><span class="state">${result.state}</span></td>`;
}

function familyColumn(family: 4 | 6, view: FamilyView): SafeHtml {
  const body =
    view.kind === 'checked'
      ? verdicts(view.check.results)
      : view.kind === 'absent'
        ? html`<p class="card note">${view.reason}</p>`
        : // A 429's detail already says when ("… or all 6 in 45 s."); a second line would repeat it.
          html`<div class="card problem" role="alert"><p>${view.error.message}</p></div>`;
  return html`<section class="family" aria-label="IPv${family}"><h3 class="family-heading">${familyHeading(family, view)}</h3>${body}</section>`;
}

/**
 * Both families' verdicts: a table of the states side by side, the diagnosis of every port
 * that differs (`--both`'s lines), then each family's cards in its own column.
 */
export function familiesResults(view: FamiliesView, ports: readonly number[] | PortsAsked, base?: string): SafeHtml {
  const { tcp, udp } = askedOf(ports);
  const rows: [number, Protocol][] = [
    ...tcp.map((p): [number, Protocol] => [p, 'tcp']),
    ...udp.map((p): [number, Protocol] => [p, 'udp']),
  ];
  const diagnosis =
    view.notes.length === 0
      ? html``
      : html`<ul class="diagnosis">${view.notes.map((note) => html`<li>${withCode(note)}</li>`)}</ul>`;
  return html`<table class="families-table">
<thead><tr><th scope="col">Port</th><th scope="col">${familyHeading(4, view.v4)}</th><th scope="col">${familyHeading(6, view.v6)}</th></tr></thead>
<tbody>${rows.map(([port, protocol]) => html`<tr><th scope="row" class="mono">${port}/${protocol}</th>${cell(view.v4, port, protocol)}${cell(view.v6, port, protocol)}</tr>`)}</tbody>
</table>
${diagnosis}
<div class="families">${familyColumn(4, view.v4)}${familyColumn(6, view.v6)}</div>
${
  base === undefined
    ? ''
    : doctorHint(
        base,
        [view.v4, view.v6].flatMap((v) => (v.kind === 'checked' ? v.check.results : [])),
      )
}`;
}
