/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core,
 * which never downloads a browser. Each launch gets a fresh temporary profile (Playwright
 * creates and deletes it), and background networking is off so the browser talks to
 * nothing but the loopback servers a test starts.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
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
