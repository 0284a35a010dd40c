/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Progressive enhancement for `GET /`. Without JavaScript the form is a plain GET to `/` and
 * the server renders the verdicts. With it, the same request is made in the background and
 * the server-rendered results replace the old ones in place, so the `aria-live` region
 * announces them and the advice text exists only once, on the server.
 */

import { CHECK_ANSWERED, CHECK_STARTED, type CheckAnswered, type CheckStarted } from './page-events.ts';

const form = document.querySelector<HTMLFormElement>('#check-form');
const input = document.querySelector<HTMLInputElement>('#ports');
const results = document.querySelector<HTMLElement>('#results');
const button = form?.querySelector<HTMLButtonElement>('button[type="submit"]');

/** Regions the server re-renders after a check. */
const REGIONS = ['#results', '#budget'] as const;

async function run(ports: string): Promise<void> {
  if (results === null || button === null || button === undefined) return;
  const query = `ports=${encodeURIComponent(ports)}`;
  button.disabled = true;
  results.setAttribute('aria-busy', 'true');
  const status = document.createElement('p');
  status.className = 'checking';
  status.textContent = `Checking ${ports}…`;
  results.replaceChildren(status);
  // On a multi-region primary, the other regions check at the same time (page-regions.ts).
  const answered = (page: ParentNode | undefined): void => {
    document.dispatchEvent(new CustomEvent<CheckAnswered>(CHECK_ANSWERED, { detail: { page } }));
  };
  document.dispatchEvent(new CustomEvent<CheckStarted>(CHECK_STARTED, { detail: { ports } }));
  try {
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
    answered(page);
    history.replaceState(null, '', `/?${query}`);
  } catch {
    answered(undefined);
    const failed = document.createElement('p');
    failed.className = 'problem';
    failed.setAttribute('role', 'alert');
    failed.textContent = 'The check failed: the service did not answer with a result. Try again in a moment.';
    results.replaceChildren(failed);
  } finally {
    results.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

form?.addEventListener('submit', (event) => {
  if (input === null || !form.checkValidity()) return;
  event.preventDefault();
  void run(input.value);
});

for (const preset of document.querySelectorAll<HTMLAnchorElement>('a[data-ports]')) {
  preset.addEventListener('click', (event) => {
    const ports = preset.dataset.ports;
    if (ports === undefined || input === null) return;
    event.preventDefault();
    input.value = ports;
    void run(ports);
  });
}
