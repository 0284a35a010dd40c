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
