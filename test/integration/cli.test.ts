import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { type CliRun, runCaptured } from '../support/cli-run.ts';
import { documentedAppForFile } from '../support/documented-app.ts';
import { portPairForFile } from '../support/port-pair.ts';
import { releasedPort } from '../support/ports.ts';
import { skipReason } from '../support/requirements.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENV = { PROBE_TIMEOUT_MS: '1500' };
const TIGHT_ENV = { PROBE_TIMEOUT_MS: '1500', RATE_LIMIT_PER_MINUTE: '1', MAX_PORTS: '1' };
const app = documentedAppForFile(ENV);
const tight = documentedAppForFile(TIGHT_ENV);
const ports = portPairForFile();

/** Runs the CLI in-process against a real server; returns its exit status and output. */
const cli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runCaptured(args, { env });

describe('dialback CLI', () => {
  it('exits 0 with an Nmap-style table when every port is open', async () => {
    const { code, out, err } = await cli([String(ports.open), '--api', app.url]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^PORT\s+STATE\s+REASON\s+RTT$/m);
    expect(out).toMatch(new RegExp(`^${ports.open}/tcp\\s+open\\s+syn-ack\\s+\\d+\\.\\d ms$`, 'm'));
  });

  it('exits 1 and says what to try when a port is closed', async () => {
    const { code, out } = await cli([`${ports.open},${ports.closed}`, '--api', app.url]);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`^${ports.closed}/tcp\\s+closed\\s+conn-refused`, 'm'));
    expect(out).toContain(`What to try for closed port ${ports.closed}:`);
    expect(out).toContain('not only on 127.0.0.1');
  });

  it('prints the JSON response with --json, taking the API from DIALBACK_API', async () => {
    const { code, out } = await cli([String(ports.closed), '--json'], { DIALBACK_API: app.url });
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({
      ip: '127.0.0.1',
      results: [{ port: ports.closed, state: 'closed', reason: 'conn-refused' }],
    });
  });

  it('prints the address for "dialback ip"', async () => {
    expect(await cli(['ip', '--api', app.url])).toEqual({ code: 0, out: '127.0.0.1\n', err: '' });
    const json = await cli(['ip', '--json', '--api', app.url]);
    expect(JSON.parse(json.out)).toMatchObject({ ip: '127.0.0.1', family: 4, reverseDns: null });
  });

  it('exits 2 with the usage for a bad port, without asking the API', async () => {
    const before = app.recorder.count();
    const { code, out, err } = await cli(['70000', '--api', app.url]);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^dialback: "70000" is not a TCP port/);
    expect(err).toContain('Usage: dialback PORT...');
    expect(app.recorder.count()).toBe(before);
  });

  it('exits 2 when the API cannot be reached', async () => {
    const nobody = `http://127.0.0.1:${ports.closed}`;
    const { code, err } = await cli(['22', '--api', nobody]);
    expect(code).toBe(2);
    expect(err).toBe(
      `dialback: Nothing is listening at ${nobody} (connection refused). Is the server running? Start it with \`npm start\`, or give another API with --api.\n`,
    );
  });

  it('exits 2 on 429 and says how long to wait', async () => {
    let result = await cli([String(ports.open), '--api', tight.url]);
    // One check a minute: the next is refused, unless a minute boundary fell in between.
    for (let i = 0; i < 3 && result.code !== 2; i++) result = await cli([String(ports.open), '--api', tight.url]);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    // The wait is said once, in the API's words: seconds, or "1 min" when the refusal fell on
    // the first second of a window (a full 60 s to wait).
    expect(result.err).toMatch(/^dialback: Rate limit reached: .*\. Try again in (\d+ s|1 min)\.\n$/);
    expect(result.err.match(/\d+ (s|min)\b/g)).toHaveLength(1);
    const [, amount, unit] = /again in (\d+) (s|min)/.exec(result.err) ?? [];
    const wait = Number(amount) * (unit === 'min' ? 60 : 1);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
  });

  it('runs as a command from a fresh clone: the npx bin shim and the npm script', async () => {
    const run = (file: string, args: string[]): Promise<{ code: number; out: string }> =>
      new Promise((resolve) => {
        execFile(file, args, { cwd: ROOT, timeout: 60_000 }, (error, stdout) => {
          resolve({ code: error === null ? 0 : Number(error.code), out: stdout });
        });
      });
    const bin = await run('node', ['functions/cli/dialback.mjs', String(ports.closed), '--api', app.url]);
    expect(bin.code).toBe(1);
    expect(bin.out).toMatch(new RegExp(`^${ports.closed}/tcp\\s+closed`, 'm'));
    const script = await run('npm', ['run', '--silent', 'dialback', '--', String(ports.open), '--api', app.url]);
    expect(script.code).toBe(0);
    expect(script.out).toMatch(new RegExp(`^${ports.open}/tcp\\s+open`, 'm'));
  });

  it('listen: verifies that the connection reached this machine with its own token', async () => {
    const port = await releasedPort();
    const { code, out } = await cli(['listen', String(port), '--api', app.url]);
    expect(code).toBe(0);
    expect(out).toContain(`${port}/tcp open, verified: the connection reached this machine.`);
    const json = await cli(['listen', String(port), '--api', app.url, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ listen: { port, inUse: false, verified: true } });
  });

  it('listen: says so, checks directly, and exits 1 when the port is already in use (nothing was proven)', async () => {
    const { code, out } = await cli(['listen', String(ports.open), '--api', app.url]);
    expect(code).toBe(1);
    expect(out).toContain(
      `Port ${ports.open} is already in use on this machine, so dialback could not listen on it and checked it directly: ${ports.open}/tcp open, with no proof`,
    );
  });

  it('says when npm kept its flags (npm run dialback 22 --json, no --), instead of dropping them', async () => {
    const swallowed = await cli(['22', 'http://127.0.0.1:1'], {
      npm_lifecycle_event: 'dialback',
      npm_config_json: 'true',
      npm_config_api: 'true',
    });
    expect(swallowed.code).toBe(2);
    expect(swallowed.err).toContain('npm kept --api, --json for itself, so dialback never saw them');
    expect(swallowed.err).toContain('npm run dialback -- 22 --api --json');
    // The same through npm itself: its own environment is what the CLI reads.
    const real = await new Promise<{ code: number | null; err: string }>((resolve) => {
      execFile(
        'npm',
        ['run', '-s', 'dialback', String(ports.open), '--json'],
        { cwd: ROOT, timeout: 60_000 },
        (error, _out, err) => resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), err }),
      );
    });
    expect(real.err).toContain('npm kept --json for itself');
    expect(real.code).toBe(2);
  });

  it('listen: takes exactly one port', async () => {
    const { code, err } = await cli(['listen', '22', '80', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toContain('takes exactly one port');
  });

  it('--both: an API given by one address, with no dual-stack endpoint in its /ip, is a usage error that says so', async () => {
    const { code, err } = await cli(['22', '--both', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toContain('its /ip names no dual-stack endpoint');
    expect((await cli(['22', '-4', '-6', '--api', app.url])).err).toContain('at most one of -4, -6 and --both');
  });
});

/**
 * A local server with both endpoints, as `npm start` serves them: 127.0.0.1 (IPv4-only) and
 * localhost, i.e. ::1 (dual-stack). This machine's hosts file may lack `::1 localhost` (this
 * one's does), which the CLI must not need.
 */
describe('dialback CLI against a local server with both endpoints', () => {
  let pair: LocalApp;
  beforeAll(async () => {
    pair = await startLocalApp({
      env: ENV,
      host: '127.0.0.1',
      ipv6Host: '::1',
      port: 0,
      allowNonPublic: false,
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('--both with the API given by address checks each family through the endpoints its /ip names, with advice and the local notice', async () => {
    const { code, out, err } = await cli([String(ports.open), '--both', '--api', pair.url]);
    expect(err).toBe('');
    expect(code).toBe(1);
    expect(out).toMatch(/PORT\s+IPv4 127\.0\.0\.1\s+IPv6 ::1/);
    expect(out).toMatch(new RegExp(`${ports.open}/tcp\\s+open\\s+closed`));
    // The family that failed gets its advice, under its name, and the check says it was local.
    expect(out).toMatch(new RegExp(`IPv6:\\nWhat to try for closed port ${ports.open}:`));
    expect(out).not.toContain('IPv4:\nWhat to try');
    expect(out).toContain('a local check');
  });

  it('listen --both proves each family in one report: one table, a proof line per family', async () => {
    const port = await releasedPort();
    const { code, out, err } = await cli(['listen', String(port), '--both', '--api', pair.url]);
    expect(err).toBe('');
    expect(out.match(/^PORT\s/gm)).toHaveLength(1);
    expect(out).toMatch(new RegExp(`^${port}/tcp\\s+open\\s+open$`, 'm'));
    expect(out).toContain(`IPv4: ${port}/tcp open, verified: the connection reached this machine.`);
    expect(out).toContain(`IPv6: ${port}/tcp open, verified: the connection reached this machine.`);
    expect(out).not.toMatch(/^Dialback: /m);
    expect(code).toBe(0);
  });

  it('-6 on a port whose service listens over IPv4 only says so, and an IPv4 check does not', async () => {
    const v6 = await cli([String(ports.open), '-6', '--api', `http://localhost:${pair.port}`]);
    expect(v6.out).toMatch(new RegExp(`^${ports.open}/tcp\\s+closed`, 'm'));
    expect(v6.out).toContain(
      `${ports.open}/tcp: on this machine the service listens on port ${ports.open} over IPv4 only`,
    );
    // A port nothing listens on gets the usual advice alone.
    const free = await releasedPort();
    expect((await cli([String(free), '-6', '--api', `http://localhost:${pair.port}`])).out).not.toContain(
      'over IPv4 only',
    );
    expect((await cli([String(ports.open), '-4', '--api', pair.url])).out).not.toContain('over IPv4 only');
  });

  it('-6 reaches the dual-stack endpoint by the name localhost over IPv6, whatever the hosts file says', async () => {
    const { code, out } = await cli([String(ports.open), '-6', '--json', '--api', `http://localhost:${pair.port}`]);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ family: 6, ip: '::1', results: [{ port: ports.open, state: 'closed' }] });
  });
});

const noMountNamespace = await skipReason('CLI family tests (a host name on both loopbacks)', ['root', 'unshare']);

/**
 * -4 and -6 only mean something for an API name with both an IPv4 and an IPv6 address: the CLI
 * runs in its own mount namespace whose /etc/hosts gives DUAL_NAME both loopbacks, and one
 * server listens on each, on the same port, so the address the server saw says which family
 * the CLI chose. Without a flag the CLI takes ::1 (sorted first), so a flag ignored is seen.
 */
describe.runIf(noMountNamespace === undefined)('dialback CLI over one family', () => {
  const DUAL_NAME = 'dialback-dual.test';
  let v4: LocalApp;
  let v6: LocalApp;
  let dir: string;

  beforeAll(async () => {
    const quiet = { port: 0, allowNonPublic: false, log: () => undefined, env: ENV } as const;
    // Bounded: a port free on 127.0.0.1 is almost always free on ::1 too.
    for (let i = 0; i < 5 && v6 === undefined; i++) {
      v4 = await startLocalApp({ ...quiet, host: '127.0.0.1' });
      const port = Number(new URL(v4.url).port);
      try {
        v6 = await startLocalApp({ ...quiet, host: '::1', port });
      } catch {
        await v4.close();
      }
    }
    dir = await mkdtemp(path.join(os.tmpdir(), 'dialback-hosts-'));
    const hosts = await readFile('/etc/hosts', 'utf8');
    await writeFile(path.join(dir, 'hosts'), `${hosts}\n::1 ${DUAL_NAME}\n127.0.0.1 ${DUAL_NAME}\n`);
  });

  afterAll(async () => {
    await v4?.close();
    await v6?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the CLI as a process that resolves DUAL_NAME to both loopbacks; returns its JSON. */
  function dualCli(flags: string[]): Promise<{ family: number; ip: string }> {
    const api = `http://${DUAL_NAME}:${new URL(v4.url).port}`;
    const script = 'mount --bind "$0" /etc/hosts && exec node functions/cli/dialback.mjs "$@"';
    const args = ['--mount', 'sh', '-c', script, path.join(dir, 'hosts'), String(ports.open), ...flags, '--json'];
    return new Promise((resolve, reject) => {
      execFile('unshare', [...args, '--api', api], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
        if (stdout === '') reject(new Error(`the CLI printed nothing: ${error?.message} ${stderr}`));
        else resolve(JSON.parse(stdout));
      });
    });
  }

  it('-4 forces the connection to the API over IPv4 even when the name resolves to ::1 first', async () => {
    expect(await dualCli([])).toMatchObject({ family: 6, ip: '::1' });
    expect(await dualCli(['-4'])).toMatchObject({ family: 4, ip: '127.0.0.1' });
    expect(await dualCli(['-6'])).toMatchObject({ family: 6, ip: '::1' });
  });
});
