/// <reference lib="dom" />
/**
 * The regions table in the browser (a multi-region deployment's checks), for the page and the
 * widget alike: one row per port, one column per region, a cell per answer (`error` where a region
 * gave none), then the diagnoses from `functions/contract/regions.ts`. Built with DOM calls, never
 * from markup, so nothing a region answered is parsed as HTML. Every element has a class (the
 * page's stylesheet) and a `part` (the widget's `::part()` theming).
 */
import { type RegionChecks, regionCell, regionDiagnoses } from '../contract/regions.ts';

function node<K extends keyof HTMLElementTagNameMap>(tag: K, name: string, text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  element.className = name;
  element.setAttribute('part', name);
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The table and the diagnoses for `checks`. */
export function regionsView(checks: RegionChecks): HTMLElement {
  const view = node('div', 'regions-view');
  const table = node('table', 'regions-table');
  table.append(node('caption', 'regions-caption', `Checked from ${checks.outcomes.length} regions at once`));
  const head = node('tr', 'regions-head');
  head.append(node('th', 'regions-port', 'Port'));
  for (const outcome of checks.outcomes) {
    const th = node('th', 'regions-region', outcome.region.name);
    th.scope = 'col';
    head.append(th);
  }
  const thead = node('thead', 'regions-thead');
  thead.append(head);
  const tbody = node('tbody', 'regions-tbody');
  for (const port of checks.ports) {
    const row = node('tr', 'regions-row');
    const th = node('th', 'regions-port', `${port}/tcp`);
    th.scope = 'row';
    row.append(th);
    for (const outcome of checks.outcomes) {
      const cell = regionCell(outcome, port);
      const td = node('td', `cell cell-${cell}`, cell);
      td.dataset.region = outcome.region.name;
      td.dataset.port = String(port);
      if (!outcome.ok) td.title = outcome.error.message;
      row.append(td);
    }
    tbody.append(row);
  }
  table.append(thead, tbody);
  view.append(table);
  const notes = regionDiagnoses(checks);
  if (notes.length > 0) {
    const list = node('ul', 'diagnoses');
    for (const note of notes) list.append(node('li', 'region-diagnosis', note));
    view.append(list);
  }
  return view;
}
