/**
 * The reverse-proxy example the README offers (infra/local/Caddyfile), run by Caddy itself in
 * front of the local server started with --trust-proxy 127.0.0.1: the caller the server sees is
 * the client Caddy saw, whatever header that client sent, and a check is refused for that
 * client's non-public address, never run against the proxy. Caddy is this test's own process,
 * ended by its PID; TLS is swapped for plain HTTP on a loopback port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { parseProxyTrust } from '../../infra/local/forwarded.ts';
import { getOnce } from '../support/http-client.ts';
import { skipReason } from '../support/requirements.ts';

const CADDYFILE = fileURLToPath(new URL('../../infra/local/Caddyfile', import.meta.url));
const skip = await skipReason('Caddy reverse-proxy test', ['caddy']);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits (at most 10 s, polling every 100 ms) until something accepts on `port`. */
async function accepting(port: number, caddy: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (caddy.exitCode !== null) throw new Error(`caddy exited ${caddy.exitCode}:\n${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`caddy did not listen on ${port} in 10 s:\n${log()}`);
}

describe.runIf(skip === undefined)('Dialback behind Caddy with the example Caddyfile', () => {
  let app: LocalApp;
  let caddy: ChildProcess | undefined;
  let dir: string;
  let front: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dialback-caddy-'));
    app = await startLocalApp({
      env: {},
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
      trustProxy: parseProxyTrust('127.0.0.1'),
    });
    const port = await freePort();
    const example = await readFile(CADDYFILE, 'utf8');
    const config = `{\n\tadmin off\n\tauto_https off\n}\n${example
      .replace('dialback.example.com', `http://127.0.0.1:${port}`)
      .replace('127.0.0.1:8787', `127.0.0.1:${app.port}`)}`;
    await writeFile(join(dir, 'Caddyfile'), config);
    let log = '';
    caddy = spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    caddy.stdout?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    caddy.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await accepting(port, caddy, () => log);
    front = `http://127.0.0.1:${port}`;
  }, 30_000);
  afterAll(async () => {
    if (caddy?.pid !== undefined && caddy.exitCode === null) {
      const exited = new Promise((resolve) => caddy?.once('exit', resolve));
      process.kill(caddy.pid, 'SIGTERM');
      await exited;
    }
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the client Caddy saw, not the client's own header and not the proxy", async () => {
    const answer = await getOnce(`${front}/ip`, {
      localAddress: '127.0.0.2',
      headers: { accept: 'application/json', 'x-forwarded-for': '198.51.100.66' },
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).ip).toBe('127.0.0.2');
  });

  it("refuses to check the client's non-public address, as the server behind a proxy checks only public callers", async () => {
    const answer = await getOnce(`${front}/check/22`, {
      localAddress: '127.0.0.2',
      headers: { accept: 'application/json' },
    });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).type).toMatch(/address-not-public$/);
  });
});
