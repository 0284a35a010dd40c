import http from 'node:http';
import type net from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { CheckResponse } from '../../functions/client/dialback-client.ts';
import type { WidgetErrorDetail } from '../../functions/web/widget.ts';
import { browserTest, screenshotPath } from '../support/browser.ts';
import { documentedAppForFile } from '../support/documented-app.ts';
import { portPairForFile } from '../support/port-pair.ts';

/** Two APIs: one with the usual budget, one allowing 2 port checks a minute for the 429. */
// The embedding site is another origin: a loopback server answers it only when told to (DESIGN §4.7).
const ENV = { PROBE_TIMEOUT_MS: '1500', CORS_ALLOW_ORIGINS: '*' };
const TIGHT_ENV = { ...ENV, RATE_LIMIT_PER_MINUTE: '2', MAX_PORTS: '1' };
const api = documentedAppForFile(ENV);
const tightApi = documentedAppForFile(TIGHT_ENV);
const ports = portPairForFile();

let host: http.Server;
let hostUrl: string;

interface Recorded {
  readonly type: 'dialback-result' | 'dialback-error';
  readonly id: string;
  readonly detail: CheckResponse | WidgetErrorDetail;
}

/** The embedding site, on its own origin, with a strict CSP of its own. */
function hostPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Game host onboarding</title>
<link rel="stylesheet" href="/host.css">
<script type="module" src="${api.url}/widget.js"></script>
<script type="module" src="/host.js"></script>
</head><body><main>
<h1>Step 3: is your server reachable?</h1>
<dialback-check id="open" ports="${ports.open}" api="${api.url}"></dialback-check>
<dialback-check id="closed" ports="${ports.closed}" api="${api.url}" label="Check the admin port"></dialback-check>
<dialback-check id="limited" ports="${ports.open}" api="${tightApi.url}"></dialback-check>
</main></body></html>`;
}

const HOST_JS = `window.__events = [];
for (const type of ['dialback-result', 'dialback-error']) {
  document.addEventListener(type, (e) => window.__events.push({ type, id: e.target.id, detail: e.detail }));
}`;

const HOST_CSS = `body { font: 16px system-ui, sans-serif; background: #fff; color: #222; margin: 0; }
main { max-width: 34rem; padding: 1rem 1.5rem; display: grid; gap: .75rem; }
h1 { font-size: 1.2rem; margin: 0; }
dialback-check { --dialback-accent: #6b21a8; --dialback-border: #d4d4d8; --dialback-radius: 10px; }
dialback-check::part(button) { font-weight: 600; }`;

async function startHost(): Promise<void> {
  host = http.createServer((req, res) => {
    const csp = `default-src 'none'; script-src 'self' ${api.url}; connect-src ${api.url} ${tightApi.url}; style-src 'self'`;
    const send = (type: string, body: string): void => {
      res.writeHead(200, { 'content-type': type, 'content-security-policy': csp }).end(body);
    };
    if (req.url === '/') send('text/html; charset=utf-8', hostPage());
    else if (req.url === '/host.js') send('text/javascript', HOST_JS);
    else if (req.url === '/host.css') send('text/css', HOST_CSS);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://127.0.0.1:${(host.address() as net.AddressInfo).port}`;
}

beforeAll(async () => {
  await startHost();
});

afterAll(async () => {
  await new Promise<void>((resolve) => (host ? host.close(() => resolve()) : resolve()));
});

function events(page: Page): Promise<Recorded[]> {
  return page.evaluate(() => (window as unknown as { __events: Recorded[] }).__events);
}

/** Presses the widget's button with the keyboard and waits for its next event. */
async function press(page: Page, id: string): Promise<Recorded> {
  const before = (await events(page)).length;
  await page.locator(`#${id}`).getByRole('button').press('Enter');
  await page.waitForFunction((n) => (window as unknown as { __events: unknown[] }).__events.length > n, before);
  const all = await events(page);
  const last = all[all.length - 1];
  if (last === undefined) throw new Error('no event');
  return last;
}

describe('widget embedded on another origin', () => {
  browserTest('checks through CORS and fires dialback-result with the typed response', async ({ openPage }) => {
    const { page, trouble } = await openPage({ viewport: { width: 640, height: 420 } });
    await page.goto(hostUrl);
    expect(new URL(hostUrl).origin).not.toBe(new URL(api.url).origin);
    await expect(page.locator('#closed').getByRole('button').textContent()).resolves.toBe('Check the admin port');

    const open = await press(page, 'open');
    expect(open.type).toBe('dialback-result');
    expect(open.id).toBe('open');
    expect(open.detail).toMatchObject({
      ip: '127.0.0.1',
      family: 4,
      checkedFrom: 'local',
      results: [{ port: ports.open, state: 'open', reason: 'syn-ack' }],
      // A loopback caller: /ip knows no holder, so the event carries null (ip-holder.test.ts has a public one).
      holder: null,
    });

    const closed = await press(page, 'closed');
    expect(closed).toMatchObject({
      type: 'dialback-result',
      id: 'closed',
      detail: { results: [{ port: ports.closed, state: 'closed', reason: 'conn-refused' }] },
    });
    await expect(page.locator('#closed').getByRole('status').textContent()).resolves.toBe('0 of 1 open on 127.0.0.1.');
    await expect(page.locator('#open').locator('[part~="result"]').textContent()).resolves.toContain(
      `${ports.open}/tcp open`,
    );
    // The state once, what it means, and the first thing to try.
    const closedItem = (await page.locator('#closed').locator('[part~="result"]').textContent()) ?? '';
    expect(closedItem).toMatch(new RegExp(`^${ports.closed}/tcp closed: Your address answered, but nothing accepted`));
    expect(closedItem).not.toMatch(/Closed:/);
    expect(closedItem).toContain('Make sure the service is running and listens on all interfaces');
    // What the widget cannot see inside the visitor's machine, the doctor can: its command, once.
    const closedNotes = (await page.locator('#closed').locator('[part~="diagnosis"]').textContent()) ?? '';
    expect(closedNotes).toContain(`curl -sO ${api.url}/dialback.mjs && node dialback.mjs doctor ${ports.closed}`);

    // A deployment with one endpoint: IPv4 alone, and a short line saying why.
    await expect(page.locator('#open').locator('[part~="diagnosis"]').textContent()).resolves.toBe(
      'IPv6 not checked: this service has no IPv6 endpoint.',
    );

    // Themed from outside through a custom property and ::part().
    const button = page.locator('#open').getByRole('button');
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(107, 33, 168)');
    expect(await button.evaluate((b) => getComputedStyle(b).fontWeight)).toBe('600');

    await page.locator('#open').screenshot({ path: await screenshotPath('widget.png') });
    await page.locator('main').screenshot({ path: await screenshotPath('widget-onboarding.png') });
    expect(trouble.errors).toEqual([]);
    expect(trouble.violations).toEqual([]);
  });

  browserTest(
    'fires dialback-error with the retry time on 429 and waits before allowing another check',
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 640, height: 420 } });
      await page.goto(hostUrl);
      let last: Recorded | undefined;
      // Two checks a minute are allowed; the third is refused. A minute boundary in between
      // resets the window once, so a few more tries are allowed before giving up.
      for (let i = 0; i < 6 && last?.type !== 'dialback-error'; i++) last = await press(page, 'limited');
      expect(last?.type).toBe('dialback-error');
      const detail = last?.detail as WidgetErrorDetail;
      expect(detail.status).toBe(429);
      expect(detail.problem?.type).toBe('urn:dialback:problem:rate-limited');
      expect(detail.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(detail.retryAfterSeconds).toBeLessThanOrEqual(60);
      const status = await page.locator('#limited').getByRole('status').textContent();
      expect(status).toBe(`Too many checks from your address: try again in ${detail.retryAfterSeconds} s.`);
      await expect(page.locator('#limited').getByRole('button').isDisabled()).resolves.toBe(true);
      // The browser logs the failed fetch's 429 itself; nothing else may go wrong.
      expect(trouble.errors.filter((e) => !e.includes('429'))).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );
});
