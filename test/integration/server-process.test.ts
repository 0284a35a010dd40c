/**
 * The local server as a real process under real pressure: a file-descriptor limit lowered
 * with prlimit while it runs (the probe hits EMFILE: a local failure, so 503, never a port
 * state, and it recovers once descriptors are back), and SIGTERM while a check is genuinely in
 * flight (a SYN into an nftables drop in a network namespace): the check finishes, then the
 * process exits 0.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOnce } from '../support/http-client.ts';
import { type LocalChild, startLocalChild } from '../support/local-child.ts';
import { createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';
import { type Listening, listening, releasedPorts } from '../support/ports.ts';
import { skipReason } from '../support/requirements.ts';

const run = promisify(execFile);
const LIMITS = { RATE_LIMIT_PER_MINUTE: '1000', RATE_LIMIT_PER_DAY: '100000', PROBE_TIMEOUT_MS: '1000' };

async function openFds(pid: number): Promise<number[]> {
  return (await readdir(`/proc/${pid}/fd`)).map(Number).sort((a, b) => a - b);
}

/** The lowest RLIMIT_NOFILE that leaves exactly `free` descriptor numbers unused below it. */
function limitLeaving(fds: readonly number[], free: number): number {
  const used = new Set(fds);
  let unused = 0;
  for (let n = 0; ; n++) {
    if (!used.has(n)) unused += 1;
    if (unused === free) return n + 1;
  }
}

const prlimitMissing = await skipReason('open-files recovery test', ['prlimit']);

describe.runIf(prlimitMissing === undefined)('local server under a low open-files limit', () => {
  let server: LocalChild;
  let open: Listening;
  beforeAll(async () => {
    open = await listening();
    server = await startLocalChild(['--port', '0'], LIMITS);
  });
  afterAll(async () => {
    await server?.stop();
    await open?.close();
  });

  // test/integration/local-server.test.ts pins the 503 itself; this one pins the way back.
  it('recovers once descriptors are back after running out of them, and leaves none behind', async () => {
    const closed = await releasedPorts(9);
    const warm = await getOnce(`${server.url}/check/${open.port}`);
    expect(warm.status).toBe(200);
    const before = await openFds(server.pid);

    // One descriptor for the accepted request, one for the first probe socket; the next fails.
    const limit = limitLeaving(before, 2);
    await run('prlimit', ['--pid', String(server.pid), `--nofile=${limit}:`]);
    const starved = await getOnce(`${server.url}/check?ports=${[open.port, ...closed].join(',')}`);
    await run('prlimit', ['--pid', String(server.pid), '--nofile=4096:']);

    expect(starved.status).toBe(503);
    expect(starved.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(starved.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(starved.body)).toMatchObject({ type: 'urn:dialback:problem:unavailable' });
    expect(starved.body).not.toMatch(/"state"/);
    const logged = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ status: 503, errorType: 'LocalProbeError', errorCode: 'EMFILE' }),
    );

    const again = await getOnce(`${server.url}/check?ports=${[open.port, ...closed].join(',')}`);
    expect(again.status).toBe(200);
    const states = (JSON.parse(again.body) as { results: { state: string }[] }).results.map((r) => r.state);
    expect(states).toEqual(['open', ...closed.map(() => 'closed')]);
    // Nothing opened while starved was left behind.
    await new Promise((r) => setTimeout(r, 200));
    expect((await openFds(server.pid)).length).toBeLessThanOrEqual(before.length + 1);
  });
});

const unsupported = await labSkipReason('SIGTERM-during-check test');

describe.runIf(unsupported === undefined)('local server on SIGTERM', () => {
  let link: HostLink;
  let server: LocalChild | undefined;
  beforeAll(async () => {
    link = await createHostLink('sigterm');
    // The caller's port 9 drops SYNs, so the server's probe of it waits out its whole deadline.
    await link.nft(`table inet fw {
      chain input { type filter hook input priority 0; policy accept; tcp dport 9 drop; }
    }`);
  });
  afterAll(async () => {
    await server?.stop();
    await link?.destroy();
  });

  it('finishes the check in flight, refuses new connections, then exits 0', async () => {
    server = await startLocalChild(['--host', link.hostV4, '--port', '0', '--allow-non-public'], {
      ...LIMITS,
      PROBE_TIMEOUT_MS: '3000',
    });
    // The caller lives in the namespace, so the server sees (and dials) the namespace's address.
    const script = `require('node:http').get(process.argv[1], { agent: false }, (res) => {
      let body = ''; res.on('data', (d) => { body += d; });
      res.on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body })));
    }).on('error', (e) => process.stdout.write(JSON.stringify({ error: e.code })));`;
    const caller = spawn('ip', ['netns', 'exec', link.ns, process.execPath, '-e', script, `${server.url}/check/9`]);
    let out = '';
    caller.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const callerDone = new Promise<void>((resolve) => caller.once('exit', () => resolve()));

    // Wait until the probe's SYN to the caller is really outstanding.
    let inFlight = false;
    for (let i = 0; i < 100 && !inFlight; i++) {
      const { stdout } = await run('ss', ['-Htn', 'state', 'syn-sent', 'dst', `${link.v4}:9`]);
      inFlight = stdout.trim() !== '';
      if (!inFlight) await new Promise((r) => setTimeout(r, 50));
    }
    expect(inFlight).toBe(true);

    process.kill(server.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    await expect(getOnce(`${server.url}/ip`, { timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);

    await callerDone;
    const answer = JSON.parse(out) as { status: number; body: string };
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).results).toEqual([
      { port: 9, state: 'filtered', reason: 'no-response', rttMs: null },
    ]);
    expect(await server.exited()).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: finishing in-flight checks/);
  });
});
