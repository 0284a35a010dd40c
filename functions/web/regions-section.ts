/**
 * The page's checks from several regions, the server's half: on a multi-region primary, a section
 * that says where else checks come from and where the page script (page-regions.ts) puts one
 * column per region, the data that script needs, and the origins the page may fetch from.
 *
 * The primary's own column is the check the page already ran (its verdict cards): the
 * page carries that check as data, so a multi-region check spends one check per region, never
 * two in the primary. The other columns come from the other regions' APIs, called by the
 * browser directly: nothing on the server crosses a region.
 */
import type { CheckResponse, Problem, Region } from '../contract/wire.ts';
import { html, rawText, type SafeHtml } from './html.ts';

/** Styles of the regions table, appended to the page's stylesheet. */
export const REGIONS_STYLE = `
.regions table { border-collapse: collapse; margin: .5rem 0; font-variant-numeric: tabular-nums; }
.regions th, .regions td { border: 1px solid var(--line); padding: .3rem .7rem; text-align: left; }
.regions thead th { background: var(--card); }
.regions .cell-open { color: var(--open); font-weight: 700; }
.regions .cell-closed, .regions .cell-error { color: var(--closed); font-weight: 700; }
.regions .cell-filtered, .regions .cell-untestable { color: var(--filtered); font-weight: 700; }
.regions .diagnoses li { margin: .3rem 0; }
`;

/** The origins of the regions other than this one: where the page script must be allowed to connect. */
export function otherRegionOrigins(regions: readonly Region[]): string[] {
  return [...new Set(regions.slice(1).map((r) => new URL(r.api).origin))];
}

function list(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * The section, on a primary of several regions, with `script` (page-regions.ts, under its own
 * CSP hash) when the page has JavaScript; nothing on any other page.
 */
export function regionsSection(regions: readonly Region[], script: string | undefined): SafeHtml {
  if (regions.length < 2) return html``;
  const [primary, ...others] = regions;
  const code = script === undefined ? html`` : html`<script type="module">${rawText(script)}</script>`;
  return html`<section aria-labelledby="regions-heading" id="regions-section" data-regions="${JSON.stringify(regions)}">
<h2 id="regions-heading">From every region</h2>
<p class="meta">The verdicts under Results come from ${primary?.name}. This service also checks from ${list(others.map((r) => r.name))}: with JavaScript on, every check runs from all ${regions.length} regions at once, one column each, and each region counts the ports against your budget there.</p>
<div id="regions-results" class="regions" aria-live="polite"></div>
${code}
</section>`;
}

/**
 * This region's answer as data for the page script, beside its verdict cards: the check, or
 * the problem that refused it. Only a multi-region page carries it.
 */
export function primaryCheckData(
  regions: readonly Region[],
  body: CheckResponse | undefined,
  problem: Problem | undefined,
): SafeHtml {
  if (regions.length < 2 || (body === undefined && problem === undefined)) return html``;
  const data = body === undefined ? { problem } : { check: body };
  return html`<div hidden id="primary-check" data-answer="${JSON.stringify(data)}"></div>`;
}
