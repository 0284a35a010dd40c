/**
 * The CLI against APIs that misbehave, for real: a server that accepts and never answers, a
 * port that refuses, a web server that answers HTML, one that answers bytes that are not HTTP,
 * one that answers JSON of another shape, and an address black-holed by nftables in a network
 * namespace. Each must end (the test's own timeout bounds it), exit 2, and print exactly one
 * line that names the cause and the next step, never a stack trace. Then the standalone file
 * the API serves, run by plain `node` from an empty directory.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../functions/cli/main.ts';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { type CliRun, runCaptured } from '../support/cli-run.ts';
import { createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';
import { type Listening, listening, releasedPort } from '../support/ports.ts';

type Ran = CliRun;

const cli = (args: string[], io: Partial<CliIo> = {}): Promise<CliRun> => runCaptured(args, io);

/** Exit 2 and one line on stderr: no usage, no stack trace, nothing on stdout. */
function expectOneLine(ran: Ran): string {
  expect(ran.code).toBe(2);
  expect(ran.out).toBe('');
  expect(ran.err).toMatch(/^dialback: [^\n]+\n$/);
  expect(ran.err).not.toMatch(/\bat .*\.(ts|js|mjs):\d+/);
  return ran.err;
}

const closers: (() => Promise<void> | void)[] = [];

/** A TCP server that runs `onConnection` for each connection; closed after the file. */
async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** An HTTP server answering every request with `status`, `type` and `body`. */
function answering(status: number, type: string, body: string): Promise<string> {
  return tcpServer((socket) => {
    socket.once('data', () => {
      socket.end(
        `HTTP/1.1 ${status} X\r\ncontent-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
  });
}

let app: LocalApp;
let listener: Listening;

beforeAll(async () => {
  app = await startLocalApp({
    env: { PROBE_TIMEOUT_MS: '1500' },
    host: '127.0.0.1',
    port: 0,
    allowNonPublic: false,
    log: () => undefined,
  });
  listener = await listening();
});

afterAll(async () => {
  for (const close of closers) await close();
  await listener?.close();
  await app?.close();
});

describe('dialback CLI when the API misbehaves', () => {
  it('a refused connection: is the server running?', async () => {
    const api = `http://127.0.0.1:${await releasedPort()}`;
    expect(expectOneLine(await cli(['22', '--api', api]))).toBe(
      `dialback: Nothing is listening at ${api} (connection refused). Is the server running? Start it with \`npm start\`, or give another API with --api.\n`,
    );
  });

  it('a server that accepts and never answers: a timeout, at the deadline', async () => {
    const api = await tcpServer(() => undefined);
    expect(expectOneLine(await cli(['22', '--api', api, '--timeout', '2']))).toBe(
      `dialback: ${api} accepted the connection but sent no answer within 2 s. If the URL is right, the service is stuck: try again later.\n`,
    );
  });

  it('an HTML page: not a Dialback API', async () => {
    const api = await answering(200, 'text/html', '<!doctype html><title>Router</title>');
    const err = expectOneLine(await cli(['22', '--api', api]));
    expect(err).toBe(
      `dialback: ${api} does not look like a Dialback API: it answered HTTP 200, text/html, not a Dialback API response. Check the --api URL: it is the base URL that serves /check and /openapi.json (the ApiUrl output of a deploy, or http://127.0.0.1:8787 locally).\n`,
    );
  });

  it('bytes that are not HTTP: not a Dialback API', async () => {
    const api = await tcpServer((socket) => socket.end('\u0000\u0001SSH-2.0-garbage\r\n'));
    expect(expectOneLine(await cli(['22', '--api', api]))).toContain(
      `does not look like a Dialback API: it did not answer in HTTP.`,
    );
  });

  it('JSON of another shape, and an error page without problem details: not a Dialback API', async () => {
    const json = await answering(200, 'application/json', '{"results":"nope"}');
    expect(expectOneLine(await cli(['22', '--api', json]))).toContain(
      'does not look like a Dialback API: it answered HTTP 200, application/json, not a Dialback API response.',
    );
    const notFound = await answering(404, 'text/html', '<h1>Not Found</h1>');
    expect(expectOneLine(await cli(['ip', '--api', notFound]))).toContain(
      'does not look like a Dialback API: it answered HTTP 404, text/html without problem details.',
    );
  });

  it('under --json, every failure is a problem+json document on stdout, and nothing on stderr', async () => {
    const api = `http://127.0.0.1:${await releasedPort()}`;
    const ran = await cli(['22', '--json', '--api', api]);
    expect(ran.code).toBe(2);
    expect(ran.err).toBe('');
    expect(JSON.parse(ran.out)).toEqual({
      type: 'urn:dialback:cli:refused',
      title: 'Nothing is listening',
      detail: expect.stringContaining('Is the server running?'),
    });
    const usage = await cli(['70000', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.out)).toMatchObject({
      type: 'urn:dialback:cli:usage',
      detail: expect.stringMatching(/70000/),
    });
  });

  it('a usage error prints the short usage, not the whole help', async () => {
    const ran = await cli(['--bogus']);
    expect(ran.code).toBe(2);
    expect(ran.err.split('\n').filter(Boolean)).toEqual([
      "dialback: Unknown option '--bogus'.",
      'Usage: dialback PORT... [--udp] [--api URL] [--json] [-4 | -6 | --both]',
      '       dialback listen|doctor PORT [--udp] | dialback ip   (dialback --help for more)',
    ]);
  });

  it('refuses -6 or -4 against an API literal of the other family, saying why', async () => {
    const six = await cli(['22', '-6', '--api', '127.0.0.1:8787']);
    expect(six.code).toBe(2);
    expect(six.err).toContain(
      'dialback: -6 asks for an IPv6 check, but the API 127.0.0.1 is an IPv4 address, which can only be reached over IPv4.',
    );
    const four = await cli(['22', '-4', '--api', '[::1]:8787']);
    expect(four.err).toContain('-4 asks for an IPv4 check, but the API ::1 is an IPv6 address');
  });

  it('takes --api as host:port (http for loopback) and answers --version', async () => {
    const { port } = new URL(app.url);
    const ran = await cli([String(listener.port), '--api', `127.0.0.1:${port}`]);
    expect(ran.code).toBe(0);
    expect(ran.out).toMatch(new RegExp(`^${listener.port}/tcp\\s+open`, 'm'));
    expect(await cli(['--version'])).toEqual({ code: 0, out: 'dialback 0.1.0\n', err: '' });
  });

  it('on a terminal: a progress line on stderr while waiting, erased before the answer; piped: none', async () => {
    const api = await tcpServer(() => undefined);
    const tty = await cli(['22', '--api', api, '--timeout', '3'], { stderrIsTty: true });
    expect(tty.err).toMatch(new RegExp(`^\\r\\x1b\\[2KChecking 22 with ${api}…`));
    expect(tty.err).toContain(`\r\x1b[2KChecking 22 with ${api}… 1 s`);
    const erased = '\r\x1b[2K';
    expect(tty.err.endsWith('\n')).toBe(true);
    expect(tty.err).toContain(
      `${erased}${'\x1b[31m'}dialback:${'\x1b[0m'} ${api} accepted the connection but sent no answer within 3 s.`,
    );
    const piped = await cli(['22', '--api', api, '--timeout', '2']);
    expect(piped.err).not.toContain('\r');
    expect(piped.err).not.toContain('\x1b');
  });

  it('colours the states on a terminal, and never with NO_COLOR or when piped', async () => {
    const args = [String(listener.port), '--api', app.url];
    const tty = await cli(args, { stdoutIsTty: true });
    expect(tty.out, tty.err).toContain(`${listener.port}/tcp  \x1b[32mopen\x1b[0m`);
    expect((await cli(args, { stdoutIsTty: true, env: { NO_COLOR: '1' } })).out).not.toContain('\x1b');
    expect((await cli(args)).out).not.toContain('\x1b');
  });
});

const skip = await labSkipReason('the black-holed API test');

describe.runIf(skip === undefined)('dialback CLI against a black-holed API (network namespace)', () => {
  let link: HostLink;

  beforeAll(async () => {
    link = await createHostLink('cliblk');
    // Every SYN to the namespace is dropped: the connection never completes, nothing refuses.
    await link.nft('table inet t { chain input { type filter hook input priority 0; tcp dport 8787 drop; }; }');
  });

  afterAll(async () => {
    await link?.destroy();
  });

  it('gives up at the connect deadline with one line, not a socket code', async () => {
    const api = `http://${link.v4}:8787`;
    expect(expectOneLine(await cli(['22', '--api', api, '--timeout', '2']))).toBe(
      `dialback: Could not connect to ${api} within 2 s: nothing answered (a wrong address, or a firewall dropping the connection). Check the --api URL and your network.\n`,
    );
  });
});

describe('the standalone CLI served at /dialback.mjs', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dialback-standalone-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `node args…` in the directory; as the unprivileged `nobody` when we are root and `unprivileged`. */
  function node(args: string[], unprivileged = false): Promise<Ran> {
    const drop = unprivileged && process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    return new Promise((resolve) => {
      // A clean environment: no NODE_PATH, no DIALBACK_API; the directory has no node_modules.
      execFile(
        process.execPath,
        args,
        { cwd: dir, timeout: 30_000, env: { PATH: process.env.PATH ?? '' }, ...drop },
        (error, out, err) => {
          resolve({ code: error === null ? 0 : Number(error.code), out, err });
        },
      );
    });
  }

  it('runs with plain node from an empty directory, already pointed at the API that served it', async () => {
    const response = await fetch(`${app.url}/dialback.mjs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await response.text();
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(text).not.toContain('@@DIALBACK_SERVED_API@@');
    await writeFile(path.join(dir, 'dialback.mjs'), text);

    const open = await node(['dialback.mjs', String(listener.port)]);
    expect(open).toMatchObject({ code: 0, err: '' });
    expect(open.out).toMatch(new RegExp(`^${listener.port}/tcp\\s+open\\s+syn-ack`, 'm'));
    expect(open.out).toContain('This is a local check: 127.0.0.1 is not a public address');
    expect((await node(['dialback.mjs', '--version'])).out).toBe('dialback 0.1.0\n');
    expect((await node(['dialback.mjs', '--help'])).out).toContain(`(now: ${app.url})`);
  });

  it('runs the doctor with plain node from the same empty directory, unprivileged too', async () => {
    const port = await releasedPort();
    const proven = await node(['dialback.mjs', 'doctor', String(port), '--json']);
    expect(proven.code).toBe(0);
    expect(JSON.parse(proven.out)).toMatchObject({ port, protocol: 'tcp', verdict: { status: 'open' } });
    await chmod(dir, 0o755);
    await chmod(path.join(dir, 'dialback.mjs'), 0o644);
    const unprivileged = await node(['dialback.mjs', 'doctor', String(await releasedPort())], true);
    expect(unprivileged.code).toBe(0);
    expect(unprivileged.out).toContain(
      '? Host firewall        The host firewall could not be read: reading nftables needs root.',
    );
    // Nothing listens on 80 and only root may hold it: the doctor says how to run it, and exits 2.
    const privileged = await node(['dialback.mjs', 'doctor', '80'], true);
    expect(privileged.code).toBe(2);
    expect(privileged.out).toContain('Next step: Nothing listens on 80/tcp, and only root may listen below 1024');
    expect(privileged.out).toContain('`sudo node dialback.mjs doctor 80`');
  });

  it('listen on a privileged port, unprivileged: a plain message, exit 2', async () => {
    // The directory and file must be readable by the unprivileged user.
    await chmod(dir, 0o755);
    await chmod(path.join(dir, 'dialback.mjs'), 0o644);
    const ran = await node(['dialback.mjs', 'listen', '80'], true);
    expect(ran.err).toBe(
      'dialback: Listening on port 80 needs privileges: only root (or a program allowed CAP_NET_BIND_SERVICE) may listen below 1024. Run it with sudo, e.g. `sudo node dialback.mjs listen 80`.\n',
    );
    expect(ran.code).toBe(2);
  });

  it('prints one line, not a stack trace, when its API misbehaves', async () => {
    const api = await answering(200, 'text/html', '<p>hello</p>');
    const ran = await node(['dialback.mjs', '22', '--api', api]);
    expectOneLine(ran);
  });
});
