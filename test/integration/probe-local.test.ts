/**
 * The probe's contract through its public API, beyond the states of test/integration/probe.test.ts:
 * each kernel error maps to its state and reason (DESIGN §2), a failure of this machine is a
 * `LocalProbeError` and never a port state (real EINVAL, a real out-of-range port, a real
 * EMFILE under prlimit), round trips are measured from the attempt, an abort drops every
 * attempt at once, and a check's attempts are spaced and counted as configured (SYNs counted
 * by nftables in a namespace).
 */
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpPortResult as PortResult } from '../../functions/contract/wire.ts';
import {
  LocalProbeError,
  type ProbeOptions,
  probePort,
  probePorts,
  verdictForError,
} from '../../functions/core/probe.ts';
import { counterPackets, createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';
import { type Listening, listening, releasedPort } from '../support/ports.ts';
import { skipReason } from '../support/requirements.ts';

const run = promisify(execFile);
const OPTIONS: ProbeOptions = { timeoutMs: 1500, attempts: 3, attemptSpacingMs: 200 };
const LOOPBACK = { address: '127.0.0.1', family: 4 } as const;

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<LocalProbeError> {
  const error = await promise.then(
    () => expect.unreachable('the probe answered with a port state'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LocalProbeError);
  return error as LocalProbeError;
}

describe('verdictForError', () => {
  it.each([
    ['ECONNREFUSED', 'closed', 'conn-refused'],
    ['EHOSTUNREACH', 'filtered', 'host-unreach'],
    ['ENETUNREACH', 'filtered', 'net-unreach'],
    ['EACCES', 'filtered', 'admin-prohibited'],
    ['ENOPROTOOPT', 'filtered', 'proto-unreach'],
    ['ENONET', 'filtered', 'dest-unreach'],
    // ICMP parameter-problem and source-route-failed: rare, but the path's answer, never a 503.
    ['EPROTO', 'filtered', 'dest-unreach'],
    ['ENOTSUP', 'filtered', 'dest-unreach'],
    ['EOPNOTSUPP', 'filtered', 'dest-unreach'],
    ['EHOSTDOWN', 'filtered', 'no-response'],
    ['ETIMEDOUT', 'filtered', 'no-response'],
  ])('reads %s, an answer from the network, as %s / %s', (code, state, reason) => {
    expect(verdictForError(code)).toEqual({ state, reason });
  });

  it.each([
    'toString',
    'constructor',
    '__proto__',
    'hasOwnProperty',
  ])('reads %s, a name every object inherits, as no errno at all', (code) => {
    expect(verdictForError(code)).toBeUndefined();
  });

  it.each([
    'EMFILE',
    'ENFILE',
    'ENOBUFS',
    'EADDRNOTAVAIL',
    'EINVAL',
    'ERR_SOCKET_BAD_PORT',
    undefined,
  ])('gives no port state for %s: a failure of this machine', (code) => {
    expect(verdictForError(code)).toBeUndefined();
  });
});

describe('probe local failures', () => {
  it('throws LocalProbeError when the socket cannot even be asked to connect', async () => {
    const error = await rejection(probePort(LOOPBACK, 70_000, OPTIONS));
    expect(error.code).toBe('ERR_SOCKET_BAD_PORT');
    expect(error.cause).toBeInstanceOf(RangeError);
  });

  it('fails the whole check on one local failure: a half-answered check is not an answer', async () => {
    const open = await listening();
    try {
      const error = await rejection(probePorts(LOOPBACK, [open.port, 70_000], OPTIONS));
      expect(error.code).toBe('ERR_SOCKET_BAD_PORT');
    } finally {
      await open.close();
    }
  });

  it('throws ABORTED for a check whose signal was aborted before it started, dialing nothing', async () => {
    const open = await listening();
    try {
      const controller = new AbortController();
      controller.abort();
      const error = await rejection(probePorts(LOOPBACK, [open.port], { ...OPTIONS, signal: controller.signal }));
      expect(error.code).toBe('ABORTED');
      await new Promise((r) => setTimeout(r, 100));
      expect(open.accepted()).toBe(0);
    } finally {
      await open.close();
    }
  });
});

describe('probe round trips', () => {
  let open: Listening;
  beforeAll(async () => {
    open = await listening();
  });
  afterAll(async () => {
    await open?.close();
  });

  /** Probes and checks the rtt is a tenth-of-a-millisecond figure within the call's own time. */
  async function timed(port: number): Promise<PortResult> {
    const started = performance.now();
    const result = await probePort(LOOPBACK, port, OPTIONS);
    const elapsed = performance.now() - started;
    expect(result.rttMs).toBeTypeOf('number');
    expect(result.rttMs).toBeGreaterThanOrEqual(0);
    expect(result.rttMs).toBeLessThanOrEqual(elapsed + 0.1);
    expect(Math.abs((result.rttMs ?? 0) * 10 - Math.round((result.rttMs ?? 0) * 10))).toBeLessThan(1e-9);
    return result;
  }

  it('measures an open port from its own attempt', async () => {
    expect((await timed(open.port)).state).toBe('open');
  });

  it('measures a refused port from its own attempt', async () => {
    expect((await timed(await releasedPort())).state).toBe('closed');
  });
});

/**
 * Probes a loopback peer that reads but never closes its half of the connection (allowHalfOpen),
 * as a client that never closes would, and returns how many sockets to it this process still
 * holds `waitMs` after the verdict (ss -p names the owner; a socket the probe let go has none).
 */
async function probeSocketsLeft(greeting: string | undefined, waitMs: number): Promise<number> {
  const peers: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    peers.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const options = { ...OPTIONS, attempts: 1, ...(greeting === undefined ? {} : { greeting }) };
    expect((await probePort(LOOPBACK, port, options)).state).toBe('open');
    await new Promise((r) => setTimeout(r, waitMs));
    expect(peers).toHaveLength(1);
    const { stdout } = await run('ss', ['-Htnp', 'dst', `127.0.0.1:${port}`]);
    return stdout.split('\n').filter((line) => line.includes(`pid=${process.pid},`)).length;
  } finally {
    for (const peer of peers) peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('probe sockets after the verdict', () => {
  it('closes the socket of an open port at once when there is no proof line to write', async () => {
    expect(await probeSocketsLeft(undefined, 200)).toBe(0);
  });

  it('lets go of the socket 2 s after its proof line even when the peer never closes', async () => {
    expect(await probeSocketsLeft('DIALBACK abcdefghijklmnop\n', 2600)).toBe(0);
  });
});

const noPrlimit = await skipReason('probe out-of-descriptors test', ['prlimit']);

describe.runIf(noPrlimit === undefined)('probe out of file descriptors', () => {
  it('throws LocalProbeError (EMFILE), not a port state, when no socket can be opened', async () => {
    const open = await listening();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/probe-child.ts', String(open.port)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const line = async (n: number): Promise<string> => {
        for (let i = 0; i < 300 && out.split('\n').length <= n; i++) await new Promise((r) => setTimeout(r, 100));
        return out.split('\n')[n - 1] ?? '';
      };
      expect(await line(1)).toBe('ready');
      // A limit of 3 (stdin, stdout, stderr stay open): every new descriptor the child asks for
      // fails, so the probe's socket() does. (A limit at the lowest free number raced with the
      // runtime closing one of its own descriptors after "ready", and the socket then fitted.)
      await run('prlimit', [`--pid=${child.pid}`, '--nofile=3:']);
      child.stdin.write('go\n');
      expect(JSON.parse(await line(2))).toEqual({ error: { name: 'LocalProbeError', code: 'EMFILE' } });
    } finally {
      child.kill('SIGKILL');
      await open.close();
    }
  });
});

const noNamespace = await labSkipReason('probe abort and attempt tests');

describe.runIf(noNamespace === undefined)('probe against a silent port (nftables drop in a namespace)', () => {
  let link: HostLink;
  beforeAll(async () => {
    link = await createHostLink('plocal');
    await link.nft(`table inet fw {
      counter syns {}
      chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 9 tcp flags & (syn | ack) == syn counter name syns drop;
        tcp dport 10 drop;
        tcp dport 12 tcp flags & (syn | ack) == syn quota until 61 bytes drop;
      }
    }`);
  });
  afterAll(async () => {
    await link?.destroy();
  });

  const target = (): { address: string; family: 4 } => ({ address: link.v4, family: 4 });

  /** Sockets of this process still trying to connect to the namespace on `port`. */
  async function pending(port: number): Promise<number> {
    const { stdout } = await run('ss', ['-Htn', 'state', 'syn-sent', 'dst', `${link.v4}:${port}`]);
    return stdout.split('\n').filter(Boolean).length;
  }

  it('starts the configured number of attempts, spaced as configured, and stops them at the deadline', async () => {
    const before = await counterPackets(link, 'syns');
    // Attempt 1 at 0 ms retransmits at 1 s (Linux's initial RTO); attempt 2 starts at 1.2 s; the
    // 1.3 s deadline ends both: 3 SYNs. Unspaced attempts would both retransmit (4); one (2).
    const result = await probePort(target(), 9, { timeoutMs: 1300, attempts: 2, attemptSpacingMs: 1200 });
    expect(result).toEqual({ port: 9, state: 'filtered', reason: 'no-response', rttMs: null });
    await new Promise((r) => setTimeout(r, 1500)); // a destroyed socket must not retransmit
    expect((await counterPackets(link, 'syns')) - before).toBe(3);
    expect(await pending(9)).toBe(0);
  });

  it('still reads a port whose first SYN was lost, with the round trip of the retransmission', async () => {
    // The quota lets nftables drop SYNs to port 12 only until 61 bytes have passed: exactly the
    // first (a SYN with options is 60 bytes, once per run of the file). The kernel's
    // retransmission 1 s later is answered (RST: nothing listens), so the rtt includes the lost second.
    const result = await probePort(target(), 12, { timeoutMs: 3000, attempts: 1, attemptSpacingMs: 250 });
    expect(result).toMatchObject({ port: 12, state: 'closed', reason: 'conn-refused' });
    expect(result.rttMs).toBeGreaterThanOrEqual(900);
  });

  it('throws ABORTED and drops every attempt when the signal fires mid-check', async () => {
    const controller = new AbortController();
    const check = probePorts(target(), [10, 11], { ...OPTIONS, timeoutMs: 5000, signal: controller.signal });
    const outcome = rejection(check);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pending(10)).toBeGreaterThan(0);
    controller.abort();
    expect((await outcome).code).toBe('ABORTED');
    expect(await pending(10)).toBe(0);
  });

  it('drops the other ports at once when one port fails locally', async () => {
    const error = await rejection(probePorts(target(), [10, 70_000], { ...OPTIONS, timeoutMs: 5000 }));
    expect(error.code).toBe('ERR_SOCKET_BAD_PORT');
    await new Promise((r) => setTimeout(r, 100));
    expect(await pending(10)).toBe(0);
  });
});
