/**
 * `<dialback-check regions>` in Chromium: the widget reads `/regions` from its API,
 * checks from every region at once and shows one column per region; a region whose API does
 * not answer is an error cell in its own column. Two local servers stand in for two regions
 * on loopback, where both see the same ports; the lab shows regions that disagree.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { RegionChecks } from '../../functions/client/dialback-client.ts';
import type { WidgetErrorDetail } from '../../functions/web/widget.ts';
import { browserTest, screenshotPath } from '../support/browser.ts';
import { localRegionsForFile } from '../support/local-regions.ts';
import { portPairForFile } from '../support/port-pair.ts';

// The embedding site is another origin: a loopback server answers it only when told to (DESIGN §4.7).
const ENV = { PROBE_TIMEOUT_MS: '1500', CORS_ALLOW_ORIGINS: '*' };
const regions = localRegionsForFile(ENV);
const ports = portPairForFile();

let host: http.Server;
let hostUrl: string;

function hostPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Onboarding</title>
<script type="module" src="${regions.primary.url}/widget.js"></script>
<script type="module" src="/host.js"></script>
</head><body style="font: 16px system-ui, sans-serif; max-width: 36rem; padding: 1rem">
<dialback-check id="everywhere" regions ports="${ports.open},${ports.closed}" api="${regions.primary.url}"></dialback-check>
<dialback-check id="udp-everywhere" regions ports="${ports.open}" udp="51820" api="${regions.primary.url}"></dialback-check>
</body></html>`;
}

const HOST_JS = `window.__events = [];
for (const type of ['dialback-regions', 'dialback-result', 'dialback-error']) {
  document.addEventListener(type, (e) => window.__events.push({ type, detail: e.detail }));
}`;

beforeAll(async () => {
  host = http.createServer((req, res) => {
    const csp = `default-src 'none'; script-src 'self' ${regions.primary.url}; connect-src ${regions.primary.url} ${regions.second.url} ${regions.deadUrl}; style-src 'unsafe-inline'`;
    const send = (type: string, body: string): void => {
      res.writeHead(200, { 'content-type': type, 'content-security-policy': csp }).end(body);
    };
    if (req.url === '/') send('text/html; charset=utf-8', hostPage());
    else if (req.url === '/host.js') send('text/javascript', HOST_JS);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://127.0.0.1:${(host.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => host?.close(resolve));
});

describe('<dialback-check regions> in Chromium', () => {
  browserTest(
    'checks from every region, one column each, an error cell for the silent one, and fires dialback-regions',
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 640, height: 420 } });
      await page.goto(hostUrl);
      const widget = page.locator('#everywhere');
      await widget.locator('button').click();
      await widget.locator('table').waitFor({ timeout: 30_000 });
      const rows = await widget
        .locator('tr')
        .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (c) => c.textContent)));
      expect(rows).toEqual([
        ['Port', 'region-a', 'region-b', 'region-c'],
        [`${ports.open}/tcp`, 'open', 'open', 'error'],
        [`${ports.closed}/tcp`, 'closed', 'closed', 'error'],
      ]);
      expect(await widget.locator('[part~="region-diagnosis"]').allTextContents()).toEqual([
        expect.stringMatching(/^region-c: no answer \(Could not reach the Dialback API/),
      ]);
      const events = (await page.evaluate('window.__events')) as Array<{ type: string; detail: RegionChecks }>;
      expect(events.map((e) => e.type)).toEqual(['dialback-regions']);
      expect(events[0]?.detail.outcomes.map((o) => [o.region.name, o.ok])).toEqual([
        ['region-a', true],
        ['region-b', true],
        ['region-c', false],
      ]);
      // The silent region's refused connection is the only thing the console saw.
      expect(trouble.violations).toEqual([]);
      await page.screenshot({ path: await screenshotPath('widget-regions.png') });
    },
  );

  browserTest('refuses udp beside regions with an error event and no table', async ({ openPage }) => {
    const { page, trouble } = await openPage({ viewport: { width: 640, height: 420 } });
    await page.goto(hostUrl);
    const widget = page.locator('#udp-everywhere');
    await widget.locator('button').click();
    await widget.locator('[part~="error"]').waitFor({ timeout: 10_000 });
    const events = (await page.evaluate('window.__events')) as Array<{ type: string; detail: WidgetErrorDetail }>;
    expect(events.map((e) => [e.type, e.detail.status])).toEqual([['dialback-error', -1]]);
    expect(events[0]?.detail.message).toMatch(/regions attribute compares TCP ports only/);
    expect(await widget.locator('table').count()).toBe(0);
    expect(trouble.violations).toEqual([]);
  });
});
