import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProbeError } from '../../functions/core/probe.ts';
import {
  type UdpProbeOptions,
  udpProbePort,
  udpProbePorts,
  udpSendSchedule,
  udpVerdictForError,
} from '../../functions/core/udp-probe.ts';
import { createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';

const OPTIONS: UdpProbeOptions = { timeoutMs: 900, datagrams: 4, spacingMs: 150 };
const LOOPBACK = { address: '127.0.0.1', family: 4 } as const;
const LOOPBACK6 = { address: '::1', family: 6 } as const;

/** A UDP socket on an ephemeral loopback port that records what arrives and answers when `answer`. */
async function udpServer(
  type: 'udp4' | 'udp6',
  answer: boolean,
  port = 0,
): Promise<{ port: number; received: Buffer[]; close: () => Promise<void> }> {
  const socket = dgram.createSocket(type);
  const received: Buffer[] = [];
  socket.on('message', (message, peer) => {
    received.push(message);
    if (answer) socket.send(Buffer.from('pong'), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(port, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    received,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A loopback UDP port that was bound and released, so nothing listens on it. */
async function releasedPort(): Promise<number> {
  const s = await udpServer('udp4', false);
  await s.close();
  return s.port;
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
      const result = await udpProbePort(target, await releasedPort(), OPTIONS);
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
    const closed = await releasedPort();
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

  it('treats errors that are not ICMP answers as local failures', () => {
    for (const code of ['EMFILE', 'ENOBUFS', 'EADDRNOTAVAIL', 'EMSGSIZE', 'EPERM', undefined]) {
      expect(udpVerdictForError(code)).toBeUndefined();
    }
    expect(udpVerdictForError('ECONNREFUSED')).toEqual({ state: 'closed', reason: 'port-unreach' });
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
