/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Progressive enhancement for `GET /`. Without JavaScript the form is a plain GET to `/` and
 * the server renders the verdicts for the family the page arrived over. With it:
 * - on a deployment with both endpoints (`#families` names them), IPv4 is checked through the
 *   IPv4-only endpoint and IPv6 through the dual-stack one, and the two are shown side by side
 *   with the diagnosis `dialback --both` gives, rendered by the same view code as the server's;
 * - otherwise the same request is made in the background and the server-rendered results
 *   replace the old ones in place.
 * Either way the `aria-live` region announces the new results, and each check is announced to
 * the regions script of a multi-region primary (page-regions.ts) through page-events.ts.
 */

import { createClient } from '../client/dialback-client.ts';
import { checkFamilies, type FamiliesView, type FamilyView, ipv6Address } from '../client/families.ts';
import { ABSENCE_REASON } from '../contract/families.ts';
import { type CheckResponse, type Problem, parsePortList } from '../contract/wire.ts';
import { CHECK_ANSWERED, CHECK_STARTED, type CheckAnswered, type CheckStarted } from './page-events.ts';
import { familiesResults } from './verdict-view.ts';

const form = document.querySelector<HTMLFormElement>('#check-form');
const input = document.querySelector<HTMLInputElement>('#ports');
const udpInput = document.querySelector<HTMLInputElement>('#udp');
const results = document.querySelector<HTMLElement>('#results');
const button = form?.querySelector<HTMLButtonElement>('button[type="submit"]');

const families = document.querySelector<HTMLElement>('#families');
const endpoints =
  families?.dataset.ipv4 !== undefined && families.dataset.dualStack !== undefined
    ? { ipv4: families.dataset.ipv4, dualStack: families.dataset.dualStack }
    : undefined;

/** Regions the server re-renders after a check. */
const REGIONS = ['#results', '#budget'] as const;

/** Markup built by the `html` tag (escaped by construction), as nodes of this document. */
function nodes(markup: string): Node[] {
  const parsed = new DOMParser().parseFromString(`<body>${markup}</body>`, 'text/html');
  return Array.from(parsed.body.childNodes, (node) => document.importNode(node, true));
}

function budgetLine(view: FamiliesView): string {
  const parts = (
    [
      [4, view.v4],
      [6, view.v6],
    ] as const
  ).flatMap(([family, v]: readonly [4 | 6, FamilyView]) =>
    v.kind === 'checked' && v.rateLimit.length > 0
      ? [`IPv${family}: ${v.rateLimit.map((w) => `${w.remaining} left this ${w.name}`).join(', ')}`]
      : [],
  );
  return parts.length === 0 ? '' : `Rate budget (each family has its own): ${parts.join('; ')}.`;
}

/** A box's ports; an empty box is none. */
function listOf(box: string): number[] {
  return box === '' ? [] : parsePortList(box, Number.MAX_SAFE_INTEGER);
}

/**
 * This region's answer for the regions script, as the server's `#primary-check` data would carry
 * it: regions are named by their IPv4-only APIs, so this region's column is the IPv4 check.
 */
function primaryAnswer(v4: FamilyView): CheckAnswered {
  let answer: { check: CheckResponse } | { problem: Problem };
  if (v4.kind === 'checked') answer = { check: v4.check };
  else if (v4.kind === 'failed' && v4.error.problem !== undefined) answer = { problem: v4.error.problem };
  else return { page: undefined, failure: v4.kind === 'failed' ? v4.error.message : v4.reason };
  const data = document.createElement('div');
  data.id = 'primary-check';
  data.dataset.answer = JSON.stringify(answer);
  const page = document.createElement('div');
  page.append(data);
  return { page };
}

/** Both families through the two endpoints, side by side; what the regions script needs of it. */
async function runBoth(ports: string, udp: string, both: { ipv4: string; dualStack: string }): Promise<CheckAnswered> {
  const asked = { tcp: listOf(ports), udp: listOf(udp) };
  const view = await checkFamilies(both, asked, location.origin);
  results?.replaceChildren(...nodes(familiesResults(view, asked, location.origin).value));
  const budget = document.querySelector('#budget');
  const line = budgetLine(view);
  if (budget !== null && line !== '') budget.textContent = line;
  return primaryAnswer(view.v4);
}

/** Fills in both addresses: the page itself only knows the one it arrived over. */
async function showAddresses(both: { ipv4: string; dualStack: string }): Promise<void> {
  if (families === null) return;
  const [v4, v6] = await Promise.allSettled([createClient({ api: both.ipv4 }).ip(), ipv6Address(both)]);
  const v4Text = v4.status === 'fulfilled' ? `IPv4 ${v4.value.data.ip}` : 'IPv4: the IPv4 endpoint did not answer';
  const v6Text =
    v6.status === 'rejected'
      ? 'IPv6: the dual-stack endpoint did not answer'
      : typeof v6.value === 'string'
        ? `IPv6: none. ${ABSENCE_REASON[v6.value]}`
        : `IPv6 ${v6.value.ip}`;
  families.textContent = `${v4Text} · ${v6Text}`;
}

/** Checks the TCP `ports` and the `udp` ports (either may be empty), as the form would. */
async function run(ports: string, udp = ''): Promise<void> {
  if (results === null || button === null || button === undefined) return;
  const query = [
    ...(ports === '' && udp !== '' ? [] : [`ports=${encodeURIComponent(ports)}`]),
    ...(udp === '' ? [] : [`udp=${encodeURIComponent(udp)}`]),
  ].join('&');
  button.disabled = true;
  results.setAttribute('aria-busy', 'true');
  const status = document.createElement('p');
  status.className = 'checking';
  status.textContent = `Checking ${[ports, udp === '' ? '' : `UDP ${udp}`].filter((p) => p !== '').join(', ')}…`;
  results.replaceChildren(status);
  // On a multi-region primary, the other regions check the TCP ports at the same time (page-regions.ts);
  // regions compare TCP only, so a check of UDP ports alone starts none.
  const answered = (detail: CheckAnswered): void => {
    document.dispatchEvent(new CustomEvent<CheckAnswered>(CHECK_ANSWERED, { detail }));
  };
  document.dispatchEvent(new CustomEvent<CheckStarted>(CHECK_STARTED, { detail: { ports } }));
  try {
    if (endpoints !== undefined) {
      answered(await runBoth(ports, udp, endpoints));
      // Shareable: opened with JavaScript, the link checks both families again (see the end).
      history.replaceState(null, '', `/?${query}`);
      return;
    }
    const response = await fetch(`/?${query}`, { headers: { accept: 'text/html' } });
    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
    // A bare 500 is problem+json, not the page: then there is nothing to show but the failure.
    if (page.querySelector('#results') === null) throw new Error(`HTTP ${response.status}`);
    for (const selector of REGIONS) {
      const fresh = page.querySelector(selector);
      const current = document.querySelector(selector);
      if (fresh !== null && current !== null) {
        current.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
      }
    }
    answered({ page });
    history.replaceState(null, '', `/?${query}`);
  } catch {
    answered({ page: undefined });
    const failed = document.createElement('p');
    failed.className = 'problem';
    failed.setAttribute('role', 'alert');
    failed.textContent = 'The check failed: the service did not answer with a result. Try again in a moment.';
    results.replaceChildren(failed);
  } finally {
    results.removeAttribute('aria-busy');
    button.disabled = false;
    // The answer starts below the fold on most screens: take the reader (and a screen reader's
    // focus) to it.
    results.focus();
  }
}

/** The server's limit per box, from the page; the same grammar and limit, said before sending. */
const maxPorts = Number(form?.dataset.maxPorts ?? Number.MAX_SAFE_INTEGER);

/** Marks a box invalid with the server's own words when its list would be refused. */
function validate(box: HTMLInputElement | null): void {
  if (box === null) return;
  try {
    if (box.value !== '') parsePortList(box.value, maxPorts);
    box.setCustomValidity('');
  } catch (error) {
    box.setCustomValidity((error as Error).message);
  }
}
for (const box of [input, udpInput]) {
  validate(box);
  box?.addEventListener('input', () => validate(box));
}

form?.addEventListener('submit', (event) => {
  validate(input);
  validate(udpInput);
  if (input === null || !form.checkValidity()) {
    event.preventDefault();
    form?.reportValidity();
    return;
  }
  event.preventDefault();
  void run(input.value, udpInput?.value ?? '');
});

for (const preset of document.querySelectorAll<HTMLAnchorElement>('a[data-ports]')) {
  preset.addEventListener('click', (event) => {
    const ports = preset.dataset.ports;
    if (ports === undefined || input === null) return;
    event.preventDefault();
    input.value = ports;
    if (udpInput !== null) udpInput.value = '';
    void run(ports);
  });
}

for (const preset of document.querySelectorAll<HTMLAnchorElement>('a[data-udp]')) {
  preset.addEventListener('click', (event) => {
    const udp = preset.dataset.udp;
    if (udp === undefined || input === null || udpInput === null) return;
    event.preventDefault();
    input.value = '';
    udpInput.value = udp;
    void run('', udp);
  });
}

if (endpoints !== undefined) {
  void showAddresses(endpoints);
  // A shared link (/?ports=…) was answered by the server for the one family the page came over;
  // with both endpoints known, check both, as the form would (that family's check is made twice).
  const asked = new URLSearchParams(location.search);
  const linkPorts = asked.get('ports') ?? '';
  const linkUdp = asked.get('udp') ?? '';
  if ((linkPorts !== '' || linkUdp !== '') && input?.checkValidity() !== false && udpInput?.checkValidity() !== false) {
    void run(linkPorts, linkUdp);
  }
}
