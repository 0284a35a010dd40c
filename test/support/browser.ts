/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core,
 * which never downloads a browser. Each launch gets a fresh temporary profile (Playwright
 * creates and deletes it), and background networking is off so the browser talks to
 * nothing but the loopback servers a test starts.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { test } from 'vitest';
import { CHROMIUM_PATH, skipReason } from './requirements.ts';

/**
 * Why the browser tests named `what` cannot run here (no Chromium), or `undefined`: prints
 * one line naming the `chromium` package when it skips, and fails the file under CI.
 */
export function browserSkipReason(what: string): Promise<string | undefined> {
  return skipReason(what, ['chromium']);
}

/**
 * Launches headless Chromium with no sandbox (tests run as root) and no outside traffic; with
 * `namespace`, inside that network namespace (the lab's client), through a one-line wrapper,
 * since Playwright drives the browser over pipes, which cross namespaces.
 */
export async function launchChromium(options: { namespace?: string } = {}): Promise<Browser> {
  if (options.namespace === undefined) return launch(CHROMIUM_PATH);
  const dir = await mkdtemp(join(tmpdir(), 'dialback-chromium-'));
  const wrapper = join(dir, 'chromium');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec '${options.namespace}' '${CHROMIUM_PATH}' "$@"\n`);
  await chmod(wrapper, 0o755);
  try {
    const browser = await launch(wrapper);
    browser.on('disconnected', () => void rm(dir, { recursive: true, force: true }));
    return browser;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}

/** What went wrong on a page: console errors, uncaught exceptions and CSP violations. */
export interface PageTrouble {
  readonly errors: string[];
  readonly violations: string[];
}

/**
 * Records console errors, uncaught exceptions and `securitypolicyviolation` events. The
 * listener is installed by the DevTools protocol, which a page's CSP does not restrict.
 */
export async function watchPage(page: Page): Promise<PageTrouble> {
  const trouble: PageTrouble = { errors: [], violations: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') trouble.errors.push(message.text());
  });
  page.on('pageerror', (error) => trouble.errors.push(error.message));
  await page.exposeFunction('__reportCspViolation', (text: string) => trouble.violations.push(text));
  // A string, not a function: the test transpiler may decorate functions with helpers that
  // do not exist in the page.
  await page.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => window.__reportCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));",
  });
  return trouble;
}

/**
 * Where screenshots go: test-results/screenshots (git-ignored) on every run, so `npm test`
 * leaves the tree clean; docs/screenshots, which the README shows, when
 * DIALBACK_UPDATE_SCREENSHOTS=1 asks to refresh them.
 */
export const SCREENSHOTS =
  process.env.DIALBACK_UPDATE_SCREENSHOTS === '1'
    ? new URL('../../docs/screenshots/', import.meta.url)
    : new URL('../../test-results/screenshots/', import.meta.url);

/** A screenshot path in SCREENSHOTS, creating the folder if needed. */
export async function screenshotPath(name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return new URL(name, SCREENSHOTS).pathname;
}

/** A page a test opened, and what went wrong on it. */
export interface WatchedPage {
  readonly page: Page;
  readonly trouble: PageTrouble;
}

/** Asked once, when the first browser test file loads this module. */
const chromiumMissing = await browserSkipReason('browser tests in Chromium');

/**
 * The test function for every browser test: skipped, with one line naming the package, where
 * Chromium is missing (and failing the file under CI instead), so `npm test` passes on a
 * machine without it. Its fixtures:
 * - `browser`: one headless Chromium per file, launched on first use and closed after the file;
 * - `openPage(options)`: a new page (in a context of its own when `options` are given) with
 *   `watchPage`'s trouble recorder, closed after the test whatever it did.
 * A test that needs no browser (a plain HTTP request) uses vitest's own `it`.
 */
export const browserTest = test
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern; it has none
  .extend('browser', { scope: 'file' }, async ({}, { onCleanup }) => {
    const browser = await launchChromium();
    onCleanup(() => browser.close());
    return browser;
  })
  .extend('openPage', async ({ browser }, { onCleanup }) => {
    const pages: Page[] = [];
    onCleanup(async () => {
      await Promise.all(pages.map((page) => page.close()));
    });
    return async (options: BrowserContextOptions = {}): Promise<WatchedPage> => {
      const page = await browser.newPage(options);
      pages.push(page);
      return { page, trouble: await watchPage(page) };
    };
  })
  .skipIf(chromiumMissing !== undefined);
