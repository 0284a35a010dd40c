/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Progressive enhancement for `GET /`. Without JavaScript the form is a plain GET to `/` and
 * the server renders the verdicts. With it, the same request is made in the background and
 * the server-rendered results replace the old ones in place, so the `aria-live` region
 * announces them and the advice text exists only once, on the server.
 */

const form = document.querySelector<HTMLFormElement>('#check-form');
const input = document.querySelector<HTMLInputElement>('#ports');
const udpInput = document.querySelector<HTMLInputElement>('#udp');
const results = document.querySelector<HTMLElement>('#results');
const button = form?.querySelector<HTMLButtonElement>('button[type="submit"]');

/** Regions the server re-renders after a check. */
const REGIONS = ['#results', '#budget'] as const;

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
    history.replaceState(null, '', `/?${query}`);
  } catch {
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
