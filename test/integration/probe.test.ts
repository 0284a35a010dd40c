import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalProbeError, type ProbeOptions, probePort, probePorts } from '../../functions/core/probe.ts';
import { createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';

const OPTIONS: ProbeOptions = { timeoutMs: 1500, attempts: 3, attemptSpacingMs: 200 };
const LOOPBACK = { address: '127.0.0.1', family: 4 } as const;

/** Listens on an ephemeral loopback port; `accepted` counts connections. */
async function listener(
  host = '127.0.0.1',
): Promise<{ port: number; accepted: () => number; received: () => number; close: () => Promise<void> }> {
  let accepted = 0;
  let received = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    socket.on('data', (d) => {
      received += d.length;
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port that was bound and released, so nothing listens on it. */
async function releasedPort(): Promise<number> {
  const l = await listener();
  await l.close();
  return l.port;
}

describe('probe on loopback', () => {
  it('reads open with syn-ack and an rtt when something listens, and sends nothing', async () => {
    const l = await listener();
    try {
      const result = await probePort(LOOPBACK, l.port, OPTIONS);
      expect(result).toMatchObject({ port: l.port, state: 'open', reason: 'syn-ack' });
      expect(result.rttMs).toBeTypeOf('number');
      expect(result.rttMs).toBeGreaterThanOrEqual(0);
      await new Promise((r) => setTimeout(r, 100));
      expect(l.accepted()).toBeGreaterThanOrEqual(1);
      expect(l.received()).toBe(0);
    } finally {
      await l.close();
    }
  });

  it('reads closed with conn-refused and an rtt when the port refuses', async () => {
    const port = await releasedPort();
    const result = await probePort(LOOPBACK, port, OPTIONS);
    expect(result).toMatchObject({ port, state: 'closed', reason: 'conn-refused' });
    expect(result.rttMs).toBeTypeOf('number');
  });

  it('probes several ports concurrently and keeps their order', async () => {
    const a = await listener();
    const closed = await releasedPort();
    try {
      const results = await probePorts(LOOPBACK, [closed, a.port], OPTIONS);
      expect(results.map((r) => [r.port, r.state])).toEqual([
        [closed, 'closed'],
        [a.port, 'open'],
      ]);
    } finally {
      await a.close();
    }
  });

  it('probes IPv6 loopback too', async () => {
    const l = await listener('::1');
    try {
      const result = await probePort({ address: '::1', family: 6 }, l.port, OPTIONS);
      expect(result.state).toBe('open');
    } finally {
      await l.close();
    }
  });

  it('answers untestable / blocked-at-source for a blocked port without dialing', async () => {
    const l = await listener();
    try {
      const result = await probePort(LOOPBACK, l.port, { ...OPTIONS, blockedPorts: [l.port] });
      expect(result).toEqual({ port: l.port, state: 'untestable', reason: 'blocked-at-source', rttMs: null });
      await new Promise((r) => setTimeout(r, 50));
      expect(l.accepted()).toBe(0);
    } finally {
      await l.close();
    }
  });

  it('throws a LocalProbeError, not a port state, when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(probePort(LOOPBACK, 9, { ...OPTIONS, signal: controller.signal })).rejects.toBeInstanceOf(
      LocalProbeError,
    );
  });
});

const unsupported = await labSkipReason('probe firewall tests');

describe.runIf(unsupported === undefined)('probe against an nftables firewall in a namespace', () => {
  let link: HostLink;
  beforeAll(async () => {
    link = await createHostLink('probe');
    await link.nft(`table inet fw {
      chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 9 drop
      }
    }`);
  });
  afterAll(async () => {
    await link?.destroy();
  });

  for (const family of [4, 6] as const) {
    it(`reads filtered / no-response within the deadline when the port drops (IPv${family})`, async () => {
      const address = family === 4 ? link.v4 : link.v6;
      const started = performance.now();
      const result = await probePort({ address, family }, 9, { ...OPTIONS, timeoutMs: 1000 });
      const elapsed = performance.now() - started;
      expect(result).toEqual({ port: 9, state: 'filtered', reason: 'no-response', rttMs: null });
      expect(elapsed).toBeGreaterThanOrEqual(990);
    });

    it(`reads closed when nothing listens behind no firewall (IPv${family})`, async () => {
      const address = family === 4 ? link.v4 : link.v6;
      const result = await probePort({ address, family }, 10, OPTIONS);
      expect(result).toMatchObject({ state: 'closed', reason: 'conn-refused' });
    });
  }
});

describe('probe dial proof', () => {
  it('writes exactly the proof line after the handshake, then closes', async () => {
    const received: Buffer[] = [];
    let ended = false;
    const server = net.createServer((socket) => {
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('end', () => {
        ended = true;
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const result = await probePort(LOOPBACK, port, {
        ...OPTIONS,
        attempts: 1,
        greeting: 'DIALBACK abcdefghijklmnop\n',
      });
      expect(result.state).toBe('open');
      await vi.waitFor(() => expect(ended).toBe(true), { timeout: 3000 });
      expect(Buffer.concat(received).toString()).toBe('DIALBACK abcdefghijklmnop\n');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** Open file descriptors of this process. */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * How many of this process's file descriptors are IPv4 TCP sockets connected to `port` on a
 * peer: the kernel's connection table (/proc/net/tcp) names each socket's inode, and
 * /proc/self/fd names ours. Counting these, not all descriptors, keeps the test's view exact.
 */
function socketsTo(port: number): number {
  const ours = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode !== undefined) ours.add(inode);
    } catch {
      // The descriptor closed while being read (readdir's own, for one).
    }
  }
  const remote = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[2]?.endsWith(remote) && ours.has(fields[9] ?? '')).length;
}

/**
 * A peer that accepts and then holds the connection open its own way, never reading and never
 * closing (half-open allowed, so the checker's FIN does not close it): `trickle` sends one byte
 * every 100 ms, which reset the old idle timer forever; `silent` sends nothing.
 */
async function holdingPeer(
  mode: 'trickle' | 'silent',
): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    if (mode === 'trickle') {
      let sent = 0;
      const timer = setInterval(() => {
        // Bounded: 200 bytes (20 s) at most, whatever happens.
        if (sent++ >= 200 || socket.destroyed) clearInterval(timer);
        else socket.write('x');
      }, 100);
      timers.add(timer);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => sockets.size,
    close: () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('probe dial proof against a peer that holds the connection', () => {
  it.each([
    'trickle',
    'silent',
  ] as const)('cuts a %s peer by its fixed deadline and returns to the baseline of open files', async (mode) => {
    const peer = await holdingPeer(mode);
    const baseline = openFds();
    try {
      const result = await probePort(LOOPBACK, peer.port, {
        ...OPTIONS,
        attempts: 1,
        greeting: 'DIALBACK abcdefghijklmnop\n',
      });
      expect(result.state).toBe('open');
      await vi.waitFor(() => expect(peer.accepted()).toBe(1), { timeout: 2000, interval: 10 });
      // The checker's socket is open until the deadline (2 s) at most; a trickling peer once
      // reset an idle timer with every byte and kept it for hours.
      if (mode === 'silent') expect(socketsTo(peer.port)).toBe(1);
      await vi.waitFor(() => expect(socketsTo(peer.port)).toBe(0), { timeout: 6000, interval: 50 });
    } finally {
      await peer.close();
    }
    await vi.waitFor(() => expect(openFds()).toBeLessThanOrEqual(baseline), { timeout: 2000, interval: 50 });
  });
});
