import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { browserTest, screenshotPath } from '../support/browser.ts';
import { documentedAppForFile } from '../support/documented-app.ts';
import { portPairForFile } from '../support/port-pair.ts';
import { releasedPort } from '../support/ports.ts';

const ENV = { PROBE_TIMEOUT_MS: '1500' };
const app = documentedAppForFile(ENV);
const ports = portPairForFile();

/** Presses Tab (Shift+Tab `backwards`) until the element with `id` has focus (at most 30 presses). */
async function tabTo(page: Page, id: string, backwards = false): Promise<void> {
  for (let i = 0; i < 30; i++) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`#${id} never got keyboard focus`);
}

/** Types `ports` into the focused box, submits with Enter and waits for the verdicts. */
async function checkWithKeyboard(page: Page, ports: string, expected: number): Promise<string> {
  await page.keyboard.press('Control+A');
  await page.keyboard.type(ports);
  await page.keyboard.press('Enter');
  await page
    .locator('#results article')
    .nth(expected - 1)
    .waitFor();
  await page.locator('#results[aria-busy]').waitFor({ state: 'detached' });
  return (await page.locator('#results').textContent()) ?? '';
}

describe('page in Chromium', () => {
  browserTest(
    'lets a keyboard-only user check a listening and a closed port and read verdicts and advice',
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 960, height: 900 } });
      const response = await page.goto(app.url);
      expect(response?.status()).toBe(200);
      await expect(page.getByLabel(/Ports to check/).getAttribute('id')).resolves.toBe('ports');
      expect(await page.locator('#results').getAttribute('aria-live')).toBe('polite');
      expect(await page.locator('#address').textContent()).toBe('127.0.0.1');

      await tabTo(page, 'ports');
      const open = await checkWithKeyboard(page, String(ports.open), 1);
      // The answer starts below the fold: the reader is taken to it, and keyboard focus with them.
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('results');
      expect(
        await page.evaluate(() => {
          const box = document.querySelector('#results')?.getBoundingClientRect();
          return box !== undefined && box.top >= 0 && box.top < window.innerHeight;
        }),
      ).toBe(true);
      await tabTo(page, 'ports', true);
      expect(open).toMatch(new RegExp(`${ports.open}/tcp: open`, 'i'));
      expect(open).toContain('Nothing to fix');
      // A check of 127.0.0.1 is not the Internet's view, and must not claim to be.
      expect(await page.locator('body').textContent()).not.toContain('reachable from the Internet');
      expect(page.url()).toBe(`${app.url}/?ports=${ports.open}`);
      expect(await page.locator('#budget').textContent()).toMatch(/Rate budget: 29 of 30 left this minute/);

      const closed = await checkWithKeyboard(page, String(ports.closed), 1);
      expect(closed).toMatch(new RegExp(`${ports.closed}/tcp: closed`, 'i'));
      expect(closed).toContain('listens on all interfaces (0.0.0.0 or ::), not only on 127.0.0.1');
      expect(closed).toContain('host firewall');
      expect(closed).toContain('right LAN address');
      // Where the page cannot look: the command that walks this machine's side of the chain.
      expect(closed).toContain(`curl -sO ${app.url}/dialback.mjs && node dialback.mjs doctor ${ports.closed}`);
      expect(closed).not.toContain(`${ports.open}/tcp`);

      expect(trouble.errors).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );

  browserTest(
    'takes a phone-width reader (390 px) to the answer, which starts far below the fold',
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 390, height: 844 } });
      await page.goto(app.url);
      const before = await page.evaluate(() => document.querySelector('#results')?.getBoundingClientRect().top ?? 0);
      expect(before).toBeGreaterThan(844);
      await page.getByLabel(/Ports to check/).fill(String(ports.open));
      await page.getByLabel(/Ports to check/).press('Enter');
      await page.locator('#results article').first().waitFor();
      await page.locator('#results[aria-busy]').waitFor({ state: 'detached' });
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('results');
      const top = await page.evaluate(() => document.querySelector('#results')?.getBoundingClientRect().top ?? -1);
      expect(top).toBeGreaterThanOrEqual(0);
      expect(top).toBeLessThan(844);
      await page.screenshot({ path: await screenshotPath('page-phone.png') });
      expect(trouble.errors).toEqual([]);
    },
  );

  browserTest('looks right in light and dark mode, with no console errors or CSP violations', async ({ openPage }) => {
    const { page, trouble } = await openPage({ viewport: { width: 960, height: 1280 }, colorScheme: 'light' });
    await page.goto(`${app.url}/?ports=${ports.open},${ports.closed}`);
    const background = (): Promise<string> => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await background()).toBe('rgb(251, 251, 250)');
    await page.screenshot({ path: await screenshotPath('page-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).toBe('rgb(22, 23, 24)');
    await page.screenshot({ path: await screenshotPath('page-dark.png') });
    expect(trouble.errors).toEqual([]);
    expect(trouble.violations).toEqual([]);
  });

  browserTest('answers the form with JavaScript disabled, rendered by the server', async ({ openPage }) => {
    const { page } = await openPage({ javaScriptEnabled: false });
    await page.goto(app.url);
    await page.getByLabel(/Ports to check/).fill(`${ports.closed},${ports.open}`);
    await Promise.all([page.waitForURL(/\?ports=/), page.getByLabel(/Ports to check/).press('Enter')]);
    const results = (await page.locator('#results').textContent()) ?? '';
    expect(results).toMatch(new RegExp(`${ports.closed}/tcp: closed`, 'i'));
    expect(results).toMatch(new RegExp(`${ports.open}/tcp: open`, 'i'));
    expect(await page.getByLabel(/Ports to check/).inputValue()).toBe(`${ports.closed},${ports.open}`);
  });

  browserTest(
    "says a local check is not the Internet's view, gives advice once per kind of port, and readable times",
    async ({ openPage }) => {
      const { page, trouble } = await openPage({ viewport: { width: 960, height: 900 } });
      const other = await releasedPort();
      await page.goto(`${app.url}/?ports=${ports.closed},${other}`);
      expect(await page.locator('#local-notice').textContent()).toMatch(
        /^This is a local check: 127\.0\.0\.1 is not a public address, so this shows what this machine or network sees, not a view from the Internet\. To check from the Internet, deploy Dialback/,
      );
      // Two closed ports, one list of advice, and a pointer to it from the second.
      await expect(page.locator('#results h4', { hasText: 'What to do next' }).count()).resolves.toBe(1);
      expect(await page.locator('#results').textContent()).toContain(
        `What to do next: as for ${ports.closed}/tcp above.`,
      );
      // The footer's curl line is the URL this page came from, scheme included (http locally).
      expect(await page.locator('footer code').first().textContent()).toBe(`curl -s ${app.url}/check/22`);
      const budget = (await page.locator('#budget').textContent()) ?? '';
      // Whatever the time of day: "23 h 5 min", "51 min 41 s" or "9 s", never "8746 s".
      expect(budget).toMatch(/left this day \(resets in (\d+ h( \d+ min)?|\d+ min( \d+ s)?|\d{1,2} s)\)/);
      expect(budget).not.toMatch(/\d{3,} s\b/);
      expect(trouble.errors).toEqual([]);
    },
  );

  browserTest(
    "refuses in the form, in the server's words, a list the server would refuse, and sends nothing",
    async ({ openPage }) => {
      const { page } = await openPage();
      await page.goto(app.url);
      const requests: string[] = [];
      page.on('request', (request) => {
        if (request.url().includes('/check')) requests.push(request.url());
      });
      const box = page.locator('#ports');
      await box.fill(Array.from({ length: 11 }, (_, i) => 20_001 + i).join(','));
      await page.locator('#check-form button[type="submit"]').click();
      expect(await box.evaluate((el: HTMLInputElement) => el.validationMessage)).toBe(
        '11 distinct ports were asked for; at most 10 are checked per request.',
      );
      await box.fill('80-85');
      expect(await box.evaluate((el: HTMLInputElement) => el.validationMessage)).toMatch(/^"80-85" is a range/);
      await box.fill('22,80');
      expect(await box.evaluate((el: HTMLInputElement) => el.validity.valid)).toBe(true);
      expect(requests).toEqual([]);
      expect(page.url()).toBe(`${app.url}/`);
    },
  );

  browserTest('received only responses the OpenAPI document describes', async ({ openPage }) => {
    const { page } = await openPage();
    await page.goto(app.url);
    await page.goto(`${app.url}/?ports=${ports.open},${ports.closed}`);
    // Every response the browser caused in this file was checked against the document
    // (status, headers, media type): the empty page and the pages answering a check.
    expect(app.recorder.seen()).toEqual(expect.arrayContaining(['GET / 200 text/html', 'GET /?ports 200 text/html']));
    expect(app.recorder.mismatches()).toEqual([]);
  });
});
