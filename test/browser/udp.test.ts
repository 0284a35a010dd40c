/**
 * UDP in the browser: the page's UDP box and presets, rendered with JavaScript off and on, and the
 * widget's `udp` attribute, against the real local server sending real datagrams on loopback.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { browserTest } from '../support/browser.ts';
import { documentedAppForFile } from '../support/documented-app.ts';

// The widget is embedded on another origin: a loopback server answers it only when told to (DESIGN §4.7).
const ENV = { PROBE_TIMEOUT_MS: '900', CORS_ALLOW_ORIGINS: '*' };
const app = documentedAppForFile(ENV);
let answering: dgram.Socket;
let silent: dgram.Socket;
let answeringPort: number;
let silentPort: number;

async function udpSocket(answer: boolean): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  if (answer) socket.on('message', (_m, peer) => socket.send('ok', peer.port, peer.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

beforeAll(async () => {
  answering = await udpSocket(true);
  silent = await udpSocket(false);
  answeringPort = (answering.address() as AddressInfo).port;
  silentPort = (silent.address() as AddressInfo).port;
});

afterAll(async () => {
  answering?.close();
  silent?.close();
});

describe('UDP on the page and in the widget', () => {
  browserTest(
    'renders a silent UDP port as open|filtered with how listen --udp settles it, without JavaScript',
    async ({ openPage }) => {
      const { page } = await openPage({ javaScriptEnabled: false });
      const response = await page.goto(`${app.url}/?ports=&udp=${silentPort}`);
      expect(response?.status()).toBe(200);
      const results = (await page.locator('#results').textContent()) ?? '';
      expect(results).toContain(`${silentPort}/udp: open|filtered`);
      expect(results).toContain('dialback listen --udp PORT');
      expect(results).not.toContain('/tcp');
      expect(await page.locator('#udp').inputValue()).toBe(String(silentPort));
    },
  );

  browserTest(
    'checks the UDP box from the form with JavaScript and shows the answering port open',
    async ({ openPage }) => {
      const { page, trouble } = await openPage();
      await page.goto(app.url);
      await page.getByLabel(/UDP ports/).fill(String(answeringPort));
      await page.getByLabel(/UDP ports/).press('Enter');
      await page.locator('#results .verdict').first().waitFor();
      const results = (await page.locator('#results').textContent()) ?? '';
      expect(results).toContain(`${answeringPort}/udp: open`);
      expect(results).toContain('A UDP service answered');
      expect(page.url()).toBe(`${app.url}/?udp=${answeringPort}`);
      expect(trouble.errors).toEqual([]);
      expect(trouble.violations).toEqual([]);
    },
  );

  browserTest("checks UDP ports named by the widget's udp attribute", async ({ openPage }) => {
    const { page } = await openPage();
    await page.setContent(
      `<script type="module" src="${app.url}/widget.js"></script><dialback-check udp="${answeringPort}" ports="" api="${app.url}"></dialback-check>`,
    );
    const widget = page.locator('dialback-check');
    await expect(widget.getByRole('button').textContent()).resolves.toBe('Check ports');
    await page.evaluate(() => {
      document.querySelector('dialback-check')?.removeAttribute('ports');
    });
    await expect(widget.getByRole('button').textContent()).resolves.toBe(`Check port ${answeringPort}/udp`);
    await widget.getByRole('button').click();
    await widget.locator('[part~="results"] li').first().waitFor();
    const row = (await widget.locator('[part~="results"] li').first().textContent()) ?? '';
    expect(row).toContain(`${answeringPort}/udp`);
    expect(row).toContain('open');
    expect(row).toContain(': A UDP service answered');
  });
});
