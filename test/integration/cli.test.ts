import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { runCliCaptured } from '../support/cli-run.ts';
import { specFor, specRecorder } from '../support/openapi.ts';
import { type Listening, listening, releasedPort } from '../support/ports.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENV = { PROBE_TIMEOUT_MS: '1500' };
const TIGHT_ENV = { PROBE_TIMEOUT_MS: '1500', RATE_LIMIT_PER_MINUTE: '1', MAX_PORTS: '1' };
const recorder = specRecorder(specFor(ENV));
const tightRecorder = specRecorder(specFor(TIGHT_ENV));

let app: LocalApp;
let tight: LocalApp;
let listener: Listening;
let openPort: number;
let closedPort: number;

/** Runs the CLI in-process against a real server; returns its exit status and output. */
const cli = runCliCaptured;

beforeAll(async () => {
  const quiet = { host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined } as const;
  app = await startLocalApp({ ...quiet, env: ENV, observe: recorder.observe });
  tight = await startLocalApp({ ...quiet, env: TIGHT_ENV, observe: tightRecorder.observe });
  listener = await listening();
  openPort = listener.port;
  closedPort = await releasedPort();
});

afterAll(async () => {
  await listener?.close();
  await app?.close();
  await tight?.close();
});

afterEach(() => {
  expect(recorder.mismatches()).toEqual([]);
  expect(tightRecorder.mismatches()).toEqual([]);
});

describe('dialback CLI', () => {
  it('exits 0 with an Nmap-style table when every port is open', async () => {
    const { code, out, err } = await cli([String(openPort), '--api', app.url]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatch(/^PORT\s+STATE\s+REASON\s+RTT$/m);
    expect(out).toMatch(new RegExp(`^${openPort}/tcp\\s+open\\s+syn-ack\\s+\\d+\\.\\d ms$`, 'm'));
  });

  it('exits 1 and says what to try when a port is closed', async () => {
    const { code, out } = await cli([`${openPort},${closedPort}`, '--api', app.url]);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`^${closedPort}/tcp\\s+closed\\s+conn-refused`, 'm'));
    expect(out).toContain('What to try for closed ports:');
    expect(out).toContain('not only on 127.0.0.1');
  });

  it('prints the JSON response with --json, taking the API from DIALBACK_API', async () => {
    const { code, out } = await cli([String(closedPort), '--json'], { DIALBACK_API: app.url });
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({
      ip: '127.0.0.1',
      results: [{ port: closedPort, state: 'closed', reason: 'conn-refused' }],
    });
  });

  it('prints the address for "dialback ip"', async () => {
    expect(await cli(['ip', '--api', app.url])).toEqual({ code: 0, out: '127.0.0.1\n', err: '' });
    const json = await cli(['ip', '--json', '--api', app.url]);
    expect(JSON.parse(json.out)).toMatchObject({ ip: '127.0.0.1', family: 4, reverseDns: null });
  });

  it('exits 2 with the usage for a bad port, without asking the API', async () => {
    const before = recorder.count();
    const { code, out, err } = await cli(['70000', '--api', app.url]);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^dialback: "70000" is not a TCP port/);
    expect(err).toContain('Usage: dialback PORT...');
    expect(recorder.count()).toBe(before);
  });

  it('exits 2 when the API cannot be reached', async () => {
    const nobody = `http://127.0.0.1:${closedPort}`;
    const { code, err } = await cli(['22', '--api', nobody]);
    expect(code).toBe(2);
    expect(err).toBe(`dialback: Could not reach the Dialback API at ${nobody} (ECONNREFUSED).\n`);
  });

  it('exits 2 on 429 and says how long to wait', async () => {
    let result = await cli([String(openPort), '--api', tight.url]);
    // One check a minute: the next is refused, unless a minute boundary fell in between.
    for (let i = 0; i < 3 && result.code !== 2; i++) result = await cli([String(openPort), '--api', tight.url]);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toMatch(/^dialback: rate limit reached: .* \(wait (\d+) s before trying again\)\n$/);
    const wait = Number(/wait (\d+) s/.exec(result.err)?.[1]);
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
    const bin = await run('node', ['functions/cli/dialback.mjs', String(closedPort), '--api', app.url]);
    expect(bin.code).toBe(1);
    expect(bin.out).toMatch(new RegExp(`^${closedPort}/tcp\\s+closed`, 'm'));
    const script = await run('npm', ['run', '--silent', 'dialback', '--', String(openPort), '--api', app.url]);
    expect(script.code).toBe(0);
    expect(script.out).toMatch(new RegExp(`^${openPort}/tcp\\s+open`, 'm'));
  });

  it('listen: verifies that the connection reached this machine with its own token', async () => {
    const port = await releasedPort();
    const { code, out } = await cli(['listen', String(port), '--api', app.url]);
    expect(code).toBe(0);
    expect(out).toContain(`${port}/tcp open, verified: the connection reached this machine.`);
    const json = await cli(['listen', String(port), '--api', app.url, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ listen: { port, inUse: false, verified: true } });
  });

  it('listen: says so and checks directly when the port is already in use', async () => {
    const { code, out } = await cli(['listen', String(openPort), '--api', app.url]);
    expect(code).toBe(0);
    expect(out).toContain(`Port ${openPort} is already in use on this machine, so it was checked directly`);
  });

  it('listen: takes exactly one port', async () => {
    const { code, err } = await cli(['listen', '22', '80', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toContain('takes exactly one port');
  });

  it('--both: refuses an API given by IP literal, which cannot be reached over both families', async () => {
    const { code, err } = await cli(['22', '--both', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toContain('--both needs the API by a host name');
    expect((await cli(['22', '-4', '-6', '--api', app.url])).err).toContain('at most one of -4, -6 and --both');
  });

  it('-4 forces the connection to the API over IPv4', async () => {
    const { code, out } = await cli([String(openPort), '-4', '--json', '--api', app.url]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ family: 4, ip: '127.0.0.1' });
  });
});
