/**
 * Several regions in the lab: two checker namespaces stand in for two regions of one deployment (two
 * real local servers, `lab-a` the primary listing both), one client namespace with a single
 * address, and a client firewall that accepts a port from lab-a's address and drops it from
 * lab-b's. The page in real Chromium (run inside the client namespace) and the CLI both show
 * the port open from one region and filtered from the other, with the diagnosis; a third
 * region whose API does not answer is an error cell in its own column and nothing more.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRegions } from '../../functions/core/config.ts';
import { launchChromium, screenshotPath, watchPage } from '../support/browser.ts';
import {
  type DialbackServer,
  LAB_SERVER_ENV,
  runCliIn,
  startDialback,
  startListener,
} from '../support/lab/dialback.ts';
import { createLabStar, type LabStar, labSkipReason } from '../support/netns.ts';

const skip = await labSkipReason('multi-region lab tests');

/** Listens; reachable from every region. */
const EVERYWHERE = 22001;
/** Listens, but the client's firewall drops it from lab-b's address. */
const NOT_FROM_B = 22002;
/** Where lab-c's API would be: nothing serves there, so lab-c never answers. */
const DEAD_PORT = 8799;

describe.runIf(skip === undefined)('two regions that disagree', () => {
  let star: LabStar;
  let browser: Browser | undefined;
  /** Primary listing lab-a and lab-b; a second primary also listing the silent lab-c. */
  let twoRegions: DialbackServer;
  let withSilent: DialbackServer;

  const cli = (args: readonly string[]) => runCliIn(star.client, args);

  /** Opens the page of `server`, checks `ports` with the form and waits for the regions table. */
  async function checkOnPage(server: DialbackServer, ports: string): Promise<{ page: Page; violations: string[] }> {
    if (browser === undefined) throw new Error('no browser');
    const page = await browser.newPage({ viewport: { width: 960, height: 1150 } });
    const trouble = await watchPage(page);
    await page.goto(`${server.url}/`);
    await page.locator('#ports').fill(ports);
    await page.locator('#check-form button').click();
    await page.locator('#regions-results table').waitFor({ timeout: 30_000 });
    return { page, violations: trouble.violations };
  }

  /** The regions table as rows of cell texts. */
  async function tableOf(page: Page): Promise<string[][]> {
    return page
      .locator('#regions-results tr')
      .evaluateAll((rows) =>
        rows.map((row) => Array.from(row.querySelectorAll('th, td'), (cell) => cell.textContent ?? '')),
      );
  }

  beforeAll(async () => {
    star = await createLabStar('rgn', 2);
    const [a, b] = star.checkers as [(typeof star.checkers)[0], (typeof star.checkers)[0]];
    await star.client.nft(`
      table inet regions {
        chain input {
          type filter hook input priority 0; policy accept;
          ip saddr ${b.v4} tcp dport ${NOT_FROM_B} drop
        }
      }`);
    await startListener(star.client, [EVERYWHERE, NOT_FROM_B]);
    const urlA = (port: number) => `http://${a.v4}:${port}`;
    const urlB = `http://${b.v4}:8787`;
    const regionsOf = (port: number, silent: boolean) =>
      formatRegions([
        { name: 'lab-a', api: urlA(port) },
        { name: 'lab-b', api: urlB },
        ...(silent ? [{ name: 'lab-c', api: `http://${b.v4}:${DEAD_PORT}` }] : []),
      ]);
    const env = (name: string, regions?: string) => ({
      ...LAB_SERVER_ENV,
      CHECKED_FROM: name,
      ...(regions === undefined ? {} : { REGIONS: regions }),
    });
    [twoRegions, withSilent] = await Promise.all([
      startDialback(a, 4, env('lab-a', regionsOf(8787, false)), 8787),
      startDialback(a, 4, env('lab-a', regionsOf(8788, true)), 8788),
      startDialback(b, 4, env('lab-b')),
    ]);
    browser = await launchChromium({ namespace: star.client.ns });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await star?.destroy();
  });

  it('the CLI shows the port open from lab-a and filtered from lab-b, with the diagnosis', async () => {
    const { code, out } = await cli([`${EVERYWHERE},${NOT_FROM_B}`, '--from', 'all', '--api', twoRegions.url]);
    expect(out).toContain(`Dialback: ${star.client.v4} checked from 2 regions`);
    expect(out).toMatch(/^PORT\s+lab-a\s+lab-b$/m);
    expect(out).toMatch(new RegExp(`^${EVERYWHERE}/tcp\\s+open\\s+open$`, 'm'));
    expect(out).toMatch(new RegExp(`^${NOT_FROM_B}/tcp\\s+open\\s+filtered$`, 'm'));
    expect(out).toContain(
      `${NOT_FROM_B}/tcp open from lab-a, filtered from lab-b: something on the path blocks that region`,
    );
    expect(code).toBe(1);
  });

  it('the CLI gives a region that does not answer an error cell, and only that region', async () => {
    const { code, out } = await cli([`${EVERYWHERE},${NOT_FROM_B}`, '--from', 'all', '--api', withSilent.url]);
    expect(out).toMatch(new RegExp(`^${EVERYWHERE}/tcp\\s+open\\s+open\\s+error$`, 'm'));
    expect(out).toMatch(new RegExp(`^${NOT_FROM_B}/tcp\\s+open\\s+filtered\\s+error$`, 'm'));
    expect(out).toContain('lab-c: no answer (Nothing is listening at ');
    expect(out).toContain(`${NOT_FROM_B}/tcp open from lab-a, filtered from lab-b`);
    expect(code).toBe(2);
  });

  it('the page, in Chromium, shows one column per region and the diagnosis, within its CSP', async () => {
    const { page, violations } = await checkOnPage(twoRegions, `${EVERYWHERE},${NOT_FROM_B}`);
    try {
      expect(await tableOf(page)).toEqual([
        ['Port', 'lab-a', 'lab-b'],
        [`${EVERYWHERE}/tcp`, 'open', 'open'],
        [`${NOT_FROM_B}/tcp`, 'open', 'filtered'],
      ]);
      expect(await page.locator('#regions-results .region-diagnosis').allTextContents()).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${NOT_FROM_B}/tcp open from lab-a, filtered from lab-b: something on the path blocks that region`,
          ),
        ),
      ]);
      // lab-a's verdict cards are the check the table's first column shows: one check per region.
      expect(await page.locator('#results article').count()).toBe(2);
      expect(violations).toEqual([]);
      await page.screenshot({ path: await screenshotPath('page-regions.png') });
    } finally {
      await page.close();
    }
  });

  it('the page opened at /?ports= (rendered by the server) fills the other regions’ columns too', async () => {
    if (browser === undefined) throw new Error('no browser');
    const page = await browser.newPage();
    try {
      await page.goto(`${twoRegions.url}/?ports=${NOT_FROM_B}`);
      await page.locator('#regions-results table').waitFor({ timeout: 30_000 });
      expect(await tableOf(page)).toEqual([
        ['Port', 'lab-a', 'lab-b'],
        [`${NOT_FROM_B}/tcp`, 'open', 'filtered'],
      ]);
    } finally {
      await page.close();
    }
  });

  it('the page gives a region that does not answer an error cell, and only that region', async () => {
    const { page, violations } = await checkOnPage(withSilent, String(NOT_FROM_B));
    try {
      expect(await tableOf(page)).toEqual([
        ['Port', 'lab-a', 'lab-b', 'lab-c'],
        [`${NOT_FROM_B}/tcp`, 'open', 'filtered', 'error'],
      ]);
      const notes = await page.locator('#regions-results .region-diagnosis').allTextContents();
      expect(notes).toEqual([
        expect.stringMatching(new RegExp(`^${NOT_FROM_B}/tcp open from lab-a, filtered from lab-b:`)),
        expect.stringMatching(/^lab-c: no answer \(Could not reach the Dialback API at http:\/\/[\d.]+:8799/),
      ]);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
