/**
 * Both families in a real browser: the local server serves the endpoint pair (127.0.0.1 as
 * the IPv4-only endpoint, ::1 as the dual-stack one, announced as localhost), and a listener
 * bound to 127.0.0.1 only reads open over IPv4 and closed over IPv6.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import type net from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_DUAL_STACK_ENDPOINT, NO_IPV6_CALLER } from '../../functions/contract/families.ts';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { browserTest, screenshotPath } from '../support/browser.ts';
import { specFor, specRecorder } from '../support/openapi.ts';
import { portPairForFile } from '../support/port-pair.ts';
import { releasedPort } from '../support/ports.ts';

// Widgets embedded on other origins and other regions' servers: a loopback server answers
// other origins only when told to (DESIGN §4.7).
const ENV = { PROBE_TIMEOUT_MS: '1500', CORS_ALLOW_ORIGINS: '*' };
const recorder = specRecorder(specFor(ENV));
const ports = portPairForFile();
const quiet = { env: ENV, host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined } as const;
const DIAGNOSIS = 'open over IPv4, closed over IPv6: the service does not listen on IPv6';

let pair: LocalApp;
let single: LocalApp;
let noIpv6: LocalApp;
/** Answers UDP over IPv4 only: over IPv6 the same port is unbound, so it reads closed. */
let udpListener: dgram.Socket;
let host: http.Server;
let hostUrl: string;

beforeAll(async () => {
  pair = await startLocalApp({ ...quiet, ipv6Host: '::1', observe: recorder.observe });
  single = await startLocalApp({ ...quiet, observe: recorder.observe });
  // A caller without IPv6: its "dual-stack" endpoint is reached over IPv4 (as such a caller
  // reaches a real one), so it answers with family 4.
  const port = await releasedPort();
  noIpv6 = await startLocalApp({
    ...quiet,
    port,
    env: { ...ENV, API_URL_DUAL_STACK: `http://127.0.0.1:${port}` },
    observe: recorder.observe,
  });
  udpListener = dgram.createSocket('udp4');
  udpListener.on('message', (_m, peer) => udpListener.send('ok', peer.port, peer.address));
  await new Promise<void>((resolve) => udpListener.bind(0, '127.0.0.1', resolve));
  host = http.createServer((_req, res) => {
    const csp = `default-src 'none'; script-src ${pair.url}; connect-src ${pair.url} ${pair.endpoints.dualStack}`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp }).end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Onboarding</title>
<script type="module" src="${pair.url}/widget.js"></script></head>
<body><dialback-check id="both" ports="${ports.open}" api="${pair.url}"></dialback-check></body></html>`,
    );
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://127.0.0.1:${(host.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (host ? host.close(() => resolve()) : resolve()));
  udpListener?.close();
  await Promise.all([pair?.close(), single?.close(), noIpv6?.close()]);
});

afterEach(() => {
  expect(recorder.mismatches()).toEqual([]);
});

async function check(page: Page, ports: string): Promise<void> {
  await page.getByLabel(/Ports to check/).fill(ports);
  await page.getByLabel(/Ports to check/).press('Enter');
  await page.locator('#results .families-table').waitFor();
  await page.locator('#results[aria-busy]').waitFor({ state: 'detached' });
}

describe('page with both endpoints', () => {
  browserTest(
    'checks IPv4 and IPv6 side by side: open over IPv4, closed over IPv6, and says why',
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 960, height: 1400 }, colorScheme: 'light' });
      await page.goto(pair.url);
      await expect.poll(() => page.locator('#families').textContent()).toMatch(/^IPv4 127\.0\.0\.1 · IPv6 ::1$/);
      await check(page, String(ports.open));
      const row = page.locator('.families-table tbody tr');
      expect(await row.locator('td').allTextContents()).toEqual(['open', 'closed']);
      expect(await page.locator('.families-table thead').textContent()).toMatch(/IPv4 127\.0\.0\.1.*IPv6 ::1/);
      expect(await page.locator('.diagnosis').textContent()).toContain(`${ports.open}/tcp ${DIAGNOSIS}`);
      // Each family's cards carry the advice, rendered by the server's own view code.
      const v6 = (await page.locator('section.family[aria-label="IPv6"]').textContent()) ?? '';
      expect(v6).toMatch(new RegExp(`${ports.open}/tcp: closed`));
      expect(v6).toContain('listens on all interfaces');
      expect(await page.locator('#doctor-hint').textContent()).toContain(`node dialback.mjs doctor ${ports.open}`);
      expect(await page.locator('#budget').textContent()).toMatch(/IPv4: 29 left this minute.*IPv6: 29 left/);
      // The README's picture: the page from its top to the end of the results.
      const end = await page.locator('#budget').boundingBox();
      await page.screenshot({
        path: await screenshotPath('page-both.png'),
        fullPage: true,
        clip: { x: 0, y: 0, width: 960, height: Math.ceil((end?.y ?? 1300) + (end?.height ?? 0) + 16) },
      });
      expect(trouble.errors).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );

  browserTest(
    'puts the check in the address bar, and a shared link shows both families, from either endpoint',
    async ({ openPage }) => {
      const { page, trouble } = await openPage();
      await page.goto(pair.url);
      await check(page, String(ports.open));
      expect(new URL(page.url()).search).toBe(`?ports=${ports.open}`);
      // The link, opened afresh over the dual-stack endpoint: the server answers its own family
      // (IPv6), then the script checks both, as the form does.
      for (const base of [pair.endpoints.dualStack, pair.url]) {
        await page.goto(`${base}/?ports=${ports.open}`);
        await page.locator('#results .families-table').waitFor();
        await page.locator('#results[aria-busy]').waitFor({ state: 'detached' });
        expect(await page.locator('.families-table tbody td').allTextContents()).toEqual(['open', 'closed']);
      }
      expect(trouble.errors).toEqual([]);
    },
  );

  browserTest('says without JavaScript that only the family the page came over is checked', async ({ openPage }) => {
    const { page } = await openPage({ javaScriptEnabled: false });
    await page.goto(`${pair.endpoints.dualStack}/?ports=${ports.open}`);
    expect(await page.locator('#families').textContent()).toMatch(
      /With JavaScript both families are checked.*; without it, the family this page came over \(IPv6\)\./,
    );
    expect(await page.locator('.families-table').count()).toBe(0);
  });

  browserTest(
    'checks UDP ports side by side too, with UDP words and the diagnosis per protocol',
    async ({ openPage }) => {
      const { page, trouble } = await openPage();
      await page.goto(pair.url);
      const port = (udpListener.address() as net.AddressInfo).port;
      await page.getByLabel(/UDP ports/).fill(String(port));
      await page.getByLabel(/UDP ports/).press('Enter');
      await page.locator('#results .families-table').waitFor();
      await page.locator('#results[aria-busy]').waitFor({ state: 'detached' });
      expect(await page.locator('.families-table tbody th').allTextContents()).toEqual([`${port}/udp`]);
      expect(await page.locator('.families-table tbody td').allTextContents()).toEqual(['open', 'closed']);
      expect(await page.locator('.diagnosis').textContent()).toContain(`${port}/udp open over IPv4, closed over IPv6`);
      const v4 = (await page.locator('section.family[aria-label="IPv4"]').textContent()) ?? '';
      expect(v4).toContain(`${port}/udp: open`);
      expect(v4).toContain('A UDP service answered');
      const v6 = (await page.locator('section.family[aria-label="IPv6"]').textContent()) ?? '';
      expect(v6).toContain(`${port}/udp: closed`);
      expect(v6).toContain('port-unreach');
      expect(trouble.errors).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );

  browserTest(
    'does the same when the page itself came from the dual-stack endpoint over IPv6',
    async ({ openPage }) => {
      const { page, trouble } = await openPage();
      await page.goto(`http://localhost:${pair.port}/`);
      expect(await page.locator('#address').textContent()).toBe('::1');
      await expect.poll(() => page.locator('#families').textContent()).toBe('IPv4 127.0.0.1 · IPv6 ::1');
      await check(page, String(ports.open));
      expect(await page.locator('.families-table tbody td').allTextContents()).toEqual(['open', 'closed']);
      expect(await page.locator('.diagnosis').textContent()).toContain(DIAGNOSIS);
      expect(trouble.errors).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );

  browserTest('allows both endpoint origins in connect-src and nothing else', async ({ openPage }) => {
    const { page } = await openPage();
    const response = await page.goto(pair.url);
    const csp = (await response?.allHeaders())?.['content-security-policy'] ?? '';
    expect(csp).toContain(`connect-src 'self' ${pair.url} http://localhost:${pair.port};`);
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-/);
  });

  browserTest('tells a caller without IPv6 so, and checks IPv4 alone without an error', async ({ openPage }) => {
    const { page, trouble } = await openPage();
    await page.goto(noIpv6.url);
    await expect.poll(() => page.locator('#families').textContent()).toContain(`IPv6: none. ${NO_IPV6_CALLER}`);
    await check(page, String(ports.open));
    expect(await page.locator('.families-table tbody td').allTextContents()).toEqual(['open', 'not checked']);
    expect(await page.locator('section.family[aria-label="IPv6"]').textContent()).toContain(NO_IPV6_CALLER);
    expect(await page.locator('#results [role="alert"]').count()).toBe(0);
    expect(trouble.errors).toEqual([]);
  });
});

describe('page with both endpoints on a multi-region primary', () => {
  let primary: LocalApp;
  let other: LocalApp;

  beforeAll(async () => {
    other = await startLocalApp({ ...quiet, env: { ...ENV, CHECKED_FROM: 'region-b' }, observe: recorder.observe });
    const port = await releasedPort();
    const regions = `region-a=http://127.0.0.1:${port},region-b=${other.url}`;
    primary = await startLocalApp({
      ...quiet,
      port,
      ipv6Host: '::1',
      env: { ...ENV, CHECKED_FROM: 'region-a', REGIONS: regions },
      observe: recorder.observe,
    });
  });

  afterAll(async () => {
    await Promise.all([primary?.close(), other?.close()]);
  });

  browserTest(
    "fills the regions table from the two-family check, its IPv4 check being this region's column",
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 960, height: 1400 } });
      const response = await page.goto(primary.url);
      const csp = (await response?.allHeaders())?.['content-security-policy'] ?? '';
      expect(csp).toContain(`connect-src 'self' ${primary.url} http://localhost:${primary.port} ${other.url};`);
      await check(page, String(ports.open));
      expect(await page.locator('.families-table tbody td').allTextContents()).toEqual(['open', 'closed']);
      await page.locator('#regions-results table').waitFor();
      const rows = await page
        .locator('#regions-results tr')
        .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('th, td'), (c) => c.textContent)));
      expect(rows).toEqual([
        ['Port', 'region-a', 'region-b'],
        [`${ports.open}/tcp`, 'open', 'open'],
      ]);
      expect(trouble.errors).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );
});

describe('page with the IPv4 endpoint alone', () => {
  browserTest('shows IPv4 alone and says why', async ({ openPage }) => {
    const { page, trouble } = await openPage();
    await page.goto(single.url);
    expect(await page.locator('#families').textContent()).toBe(NO_DUAL_STACK_ENDPOINT);
    await page.getByLabel(/Ports to check/).fill(String(ports.open));
    await page.getByLabel(/Ports to check/).press('Enter');
    await page.locator('#results article').waitFor();
    expect(await page.locator('#results').textContent()).toMatch(new RegExp(`${ports.open}/tcp: open`));
    expect(await page.locator('.families-table').count()).toBe(0);
    expect(trouble.errors).toEqual([]);
    expect(trouble.violations).toEqual([]);
  });
});

describe('widget with both endpoints', () => {
  browserTest('shows IPv4 open and IPv6 closed with the diagnosis', async ({ openPage }) => {
    const { page, trouble } = await openPage({ viewport: { width: 640, height: 300 } });
    await page.goto(hostUrl);
    await page.locator('#both').getByRole('button').press('Enter');
    const diagnosis = page.locator('#both').locator('[part~="diagnosis"]');
    await expect.poll(() => diagnosis.textContent()).toContain(DIAGNOSIS);
    expect(await page.locator('#both').getByRole('listitem').first().textContent()).toMatch(
      new RegExp(`^${ports.open}/tcp IPv4 open · IPv6 closed`),
    );
    expect(await page.locator('#both').getByRole('status').textContent()).toBe(
      '1 of 1 open on 127.0.0.1. IPv6 ::1: 0 open.',
    );
    await page.locator('#both').screenshot({ path: await screenshotPath('widget-both.png') });
    expect(trouble.errors).toEqual([]);
    expect(trouble.violations).toEqual([]);
  });
});

describe('HEAD through the local server', () => {
  it.each(['/', '/ip', '/openapi.json', '/widget.js'])('answers HEAD %s with 200 and no body', async (path) => {
    const response = await fetch(`${pair.url}${path}`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });
});
