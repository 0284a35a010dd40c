import dgram from 'node:dgram';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProbeError } from '../../functions/core/probe.ts';
import { payloadFor } from '../../functions/core/udp-payloads.ts';
import {
  type UdpProbeOptions,
  udpDatagramFor,
  udpProbePort,
  udpProbePorts,
  udpSendSchedule,
  udpVerdictForError,
} from '../../functions/core/udp-probe.ts';
import { createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';
import { releasedPort } from '../support/ports.ts';

const OPTIONS: UdpProbeOptions = { timeoutMs: 900, datagrams: 4, spacingMs: 150 };
const LOOPBACK = { address: '127.0.0.1', family: 4 } as const;
const LOOPBACK6 = { address: '::1', family: 6 } as const;

/** A UDP socket on an ephemeral loopback port that records what arrives and answers when `answer`. */
async function udpServer(
  type: 'udp4' | 'udp6',
  answer: boolean,
  port = 0,
  answerAfterMs = 0,
): Promise<{ port: number; received: Buffer[]; close: () => Promise<void> }> {
  const socket = dgram.createSocket(type);
  const received: Buffer[] = [];
  socket.on('message', (message, peer) => {
    received.push(message);
    const reply = (): void => socket.send(Buffer.from('pong'), peer.port, peer.address);
    if (answer && answerAfterMs > 0) setTimeout(reply, answerAfterMs);
    else if (answer) reply();
  });
  await new Promise<void>((resolve) => socket.bind(port, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    received,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

describe('udp probe on loopback', () => {
  for (const [type, target] of [
    ['udp4', LOOPBACK],
    ['udp6', LOOPBACK6],
  ] as const) {
    it(`reads open / udp-response with an rtt when the port answers, after one datagram (IPv${target.family})`, async () => {
      const server = await udpServer(type, true);
      try {
        const result = await udpProbePort(target, server.port, OPTIONS);
        expect(result).toMatchObject({ port: server.port, protocol: 'udp', state: 'open', reason: 'udp-response' });
        expect(result.rttMs).toBeGreaterThanOrEqual(0);
        expect(server.received).toHaveLength(1);
        // An unknown port gets what nmap -sU sends it: an empty datagram.
        expect(server.received[0]?.length).toBe(0);
      } finally {
        await server.close();
      }
    });

    it(`reads closed / port-unreach when nothing listens (IPv${target.family})`, async () => {
      const result = await udpProbePort(target, await releasedPort(target.address, 'udp'), OPTIONS);
      expect(result).toMatchObject({ protocol: 'udp', state: 'closed', reason: 'port-unreach' });
      expect(result.rttMs).not.toBeNull();
    });

    it(`reads open|filtered / no-response after every retry when the port stays silent (IPv${target.family})`, async () => {
      const server = await udpServer(type, false);
      try {
        const result = await udpProbePort(target, server.port, OPTIONS);
        expect(result).toEqual({
          port: server.port,
          protocol: 'udp',
          state: 'open|filtered',
          reason: 'no-response',
          rttMs: null,
        });
        expect(server.received).toHaveLength(udpSendSchedule(OPTIONS).length);
      } finally {
        await server.close();
      }
    });
  }

  it('sends the dial-proof line instead of the payload when given one', async () => {
    const server = await udpServer('udp4', true);
    try {
      const result = await udpProbePort(LOOPBACK, server.port, { ...OPTIONS, greeting: 'DIALBACK abcdefghijklmnop\n' });
      expect(result.state).toBe('open');
      expect(server.received.map((b) => b.toString('latin1'))).toEqual(['DIALBACK abcdefghijklmnop\n']);
    } finally {
      await server.close();
    }
  });

  it('sends at most `datagrams` datagrams, all in the first two thirds of the deadline', () => {
    expect(udpSendSchedule({ timeoutMs: 3000, datagrams: 8, spacingMs: 250 })).toEqual([
      0, 250, 500, 750, 1000, 1250, 1500, 1750,
    ]);
    expect(udpSendSchedule({ timeoutMs: 1500, datagrams: 8, spacingMs: 250 })).toEqual([0, 250, 500, 750]);
    expect(udpSendSchedule({ timeoutMs: 100, datagrams: 8, spacingMs: 250 })).toEqual([0]);
    // `datagrams` bounds the count even when the window has room for more.
    expect(udpSendSchedule({ timeoutMs: 3000, datagrams: 2, spacingMs: 100 })).toEqual([0, 100]);
  });

  it('answers untestable / blocked-at-source for a blocked port without sending', async () => {
    const server = await udpServer('udp4', true);
    try {
      const result = await udpProbePort(LOOPBACK, server.port, { ...OPTIONS, blockedPorts: [server.port] });
      expect(result).toEqual({
        port: server.port,
        protocol: 'udp',
        state: 'untestable',
        reason: 'blocked-at-source',
        rttMs: null,
      });
      expect(server.received).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('probes several ports concurrently and keeps their order', async () => {
    const open = await udpServer('udp4', true);
    const closed = await releasedPort(LOOPBACK.address, 'udp');
    try {
      const results = await udpProbePorts(LOOPBACK, [closed, open.port], OPTIONS);
      expect(results.map((r) => [r.port, r.state])).toEqual([
        [closed, 'closed'],
        [open.port, 'open'],
      ]);
    } finally {
      await open.close();
    }
  });

  it('throws a LocalProbeError, not a port state, when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(udpProbePorts(LOOPBACK, [9], { ...OPTIONS, signal: controller.signal })).rejects.toBeInstanceOf(
      LocalProbeError,
    );
  });

  it('times the answer from the first datagram, in tenths of a millisecond', async () => {
    // The server holds its answer 40 ms, so the rtt has a floor set by the test, not the machine;
    // its ceiling is the time the whole call took.
    const server = await udpServer('udp4', true, 0, 40);
    try {
      const before = performance.now();
      const result = await udpProbePort(LOOPBACK, server.port, OPTIONS);
      const took = performance.now() - before;
      expect(result.state).toBe('open');
      expect(result.rttMs).toBeGreaterThanOrEqual(35);
      expect(result.rttMs).toBeLessThanOrEqual(took + 0.1);
      expect(Number.isInteger((result.rttMs ?? 0.05) * 10)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('times an ICMP answer within the call too', async () => {
    const port = await releasedPort(LOOPBACK.address, 'udp');
    const before = performance.now();
    const result = await udpProbePort(LOOPBACK, port, OPTIONS);
    const took = performance.now() - before;
    expect(result.state).toBe('closed');
    expect(result.rttMs).toBeGreaterThanOrEqual(0);
    expect(result.rttMs).toBeLessThanOrEqual(took + 0.1);
  });

  it('sends the port its protocol payload, and the dial-proof line byte for byte (latin1)', () => {
    expect(udpDatagramFor(53, undefined)).toEqual(payloadFor(53).bytes);
    expect(udpDatagramFor(53, undefined).length).toBeGreaterThan(0);
    expect([...udpDatagramFor(53, 'DIALBACK \u00e9\n')]).toEqual([...Buffer.from('DIALBACK '), 0xe9, 0x0a]);
  });

  it('throws a LocalProbeError with the socket code when the datagram cannot be sent', async () => {
    const server = await udpServer('udp4', false);
    try {
      // Above the 65,507-byte IPv4 UDP limit: the kernel refuses it with EMSGSIZE.
      const failure = udpProbePort(LOOPBACK, server.port, { ...OPTIONS, greeting: 'x'.repeat(70_000) });
      await expect(failure).rejects.toBeInstanceOf(LocalProbeError);
      await expect(failure).rejects.toMatchObject({ code: 'EMSGSIZE', cause: { code: 'EMSGSIZE' } });
      expect(server.received).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('throws a LocalProbeError when the socket refuses the port outright', async () => {
    for (const port of [0, 65_536]) {
      await expect(udpProbePort(LOOPBACK, port, OPTIONS)).rejects.toMatchObject({
        name: 'LocalProbeError',
        code: 'ERR_SOCKET_BAD_PORT',
        cause: { code: 'ERR_SOCKET_BAD_PORT' },
      });
    }
  });

  it('stops sending and throws ABORTED when aborted mid-probe, leaving no listener behind', async () => {
    const server = await udpServer('udp4', false);
    try {
      const controller = new AbortController();
      const probing = udpProbePort(LOOPBACK, server.port, { ...OPTIONS, signal: controller.signal });
      // Abort once the first datagram has arrived: the socket is connected and retries are queued.
      for (let i = 0; i < 100 && server.received.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(server.received).toHaveLength(1);
      controller.abort();
      await expect(probing).rejects.toMatchObject({ name: 'LocalProbeError', code: 'ABORTED' });
      await new Promise((r) => setTimeout(r, OPTIONS.spacingMs * 2));
      expect(server.received).toHaveLength(1);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('throws ABORTED when aborted before the socket is connected', async () => {
    const server = await udpServer('udp4', false);
    try {
      const controller = new AbortController();
      const probing = udpProbePort(LOOPBACK, server.port, { ...OPTIONS, signal: controller.signal });
      controller.abort();
      await expect(probing).rejects.toMatchObject({ code: 'ABORTED' });
      await new Promise((r) => setTimeout(r, OPTIONS.spacingMs));
      expect(server.received).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('removes its abort listener and closes its socket once the port has a verdict', async () => {
    // The server answers and notes the probe's source port; once the probe has its verdict,
    // that port must be closed: a datagram sent to it comes back as ICMP port-unreachable.
    const server = dgram.createSocket('udp4');
    let probePort = 0;
    server.on('message', (_message, peer) => {
      probePort = peer.port;
      server.send(Buffer.from('pong'), peer.port, peer.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const controller = new AbortController();
      const result = await udpProbePort(LOOPBACK, (server.address() as AddressInfo).port, {
        ...OPTIONS,
        signal: controller.signal,
      });
      expect(result.state).toBe('open');
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // From the server's own address, the one peer the probe's connected socket would accept.
      await new Promise<void>((resolve) => server.connect(probePort, '127.0.0.1', resolve));
      let bound: NodeJS.Timeout | undefined;
      const refused = new Promise<string | undefined>((resolve) => {
        server.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
        // A bound only so a still-open socket fails this test instead of hanging it.
        bound = setTimeout(() => resolve('no ICMP error: the probe socket is still open'), 2000);
      });
      server.send(Buffer.from('ping'));
      expect(await refused).toBe('ECONNREFUSED');
      clearTimeout(bound);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('aborts the other ports at once when one fails locally', async () => {
    const silent = await udpServer('udp4', false);
    try {
      await expect(udpProbePorts(LOOPBACK, [silent.port, 0], OPTIONS)).rejects.toMatchObject({
        code: 'ERR_SOCKET_BAD_PORT',
      });
      // Had the silent port gone on, its first datagram and a retry would have arrived by now.
      await new Promise((r) => setTimeout(r, OPTIONS.spacingMs * 2));
      expect(silent.received).toHaveLength(0);
    } finally {
      await silent.close();
    }
  });

  it('treats errors that are not ICMP answers as local failures', () => {
    for (const code of [
      'EMFILE',
      'ENOBUFS',
      'EADDRNOTAVAIL',
      'EMSGSIZE',
      'EPERM',
      'toString',
      '__proto__',
      undefined,
    ]) {
      expect(udpVerdictForError(code)).toBeUndefined();
    }
    // ICMP parameter-problem is the path's answer, not this machine's failure.
    expect(udpVerdictForError('EPROTO')).toEqual({ state: 'filtered', reason: 'dest-unreach' });
    expect(udpVerdictForError('ECONNREFUSED')).toEqual({ state: 'closed', reason: 'port-unreach' });
  });

  it('reads each ICMP error the kernel reports as the state and reason nmap -sU gives it', () => {
    // Only port-unreachable is produced for real here (loopback, and the lab's reject); the
    // others need routers that say so, so their mapping is checked as a table.
    expect(
      Object.fromEntries(
        ['ECONNREFUSED', 'EHOSTUNREACH', 'EACCES', 'ENETUNREACH', 'ENOPROTOOPT', 'ENONET', 'EHOSTDOWN'].map((code) => [
          code,
          udpVerdictForError(code),
        ]),
      ),
    ).toEqual({
      ECONNREFUSED: { state: 'closed', reason: 'port-unreach' },
      EHOSTUNREACH: { state: 'filtered', reason: 'admin-prohibited' },
      EACCES: { state: 'filtered', reason: 'admin-prohibited' },
      ENETUNREACH: { state: 'filtered', reason: 'net-unreach' },
      ENOPROTOOPT: { state: 'filtered', reason: 'proto-unreach' },
      ENONET: { state: 'filtered', reason: 'dest-unreach' },
      EHOSTDOWN: { state: 'filtered', reason: 'dest-unreach' },
    });
  });
});

const unsupported = await labSkipReason('udp probe firewall tests');

describe.runIf(unsupported === undefined)('udp probe against an nftables firewall in a namespace', () => {
  let link: HostLink;
  beforeAll(async () => {
    link = await createHostLink('udpprobe');
    await link.nft(`table inet fw {
      chain input {
        type filter hook input priority 0; policy accept;
        udp dport 9 drop
        udp dport 11 reject with icmpx admin-prohibited
      }
    }`);
  });
  afterAll(async () => {
    await link?.destroy();
  });

  for (const family of [4, 6] as const) {
    it(`reads open|filtered when the firewall drops, filtered / admin-prohibited when it says so (IPv${family})`, async () => {
      const address = family === 4 ? link.v4 : link.v6;
      const results = await udpProbePorts({ address, family }, [9, 10, 11], OPTIONS);
      expect(results.map((r) => [r.port, r.state, r.reason])).toEqual([
        [9, 'open|filtered', 'no-response'],
        [10, 'closed', 'port-unreach'],
        [11, 'filtered', 'admin-prohibited'],
      ]);
    });
  }
});
