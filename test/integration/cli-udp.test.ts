/**
 * The CLI's UDP side against the real local server on loopback: `--udp` checks, their advice,
 * and `listen --udp` proving a datagram arrived; plus the proof listener's own discipline
 * (it answers its token only, never anything else).
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForUdpProof, UDP_PROOF_ANSWER } from '../../functions/cli/listen-udp.ts';
import { udpProbePort } from '../../functions/core/udp-probe.ts';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { runCaptured } from '../support/cli-run.ts';

const ENV = { PROBE_TIMEOUT_MS: '900' };
let app: LocalApp;

const cli = (args: readonly string[]) => runCaptured(args);

/** A free loopback UDP port: bound and released. */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  app = await startLocalApp({ host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined, env: ENV });
});

afterAll(async () => {
  await app?.close();
});

describe('dialback CLI over UDP', () => {
  it('checks UDP ports with --udp: a silent one reads open|filtered with what to do about it', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const { code, out } = await cli([String(port), '--udp', '--api', app.url]);
      expect(out).toMatch(new RegExp(`^${port}/udp\\s+open\\|filtered\\s+no-response\\s+-$`, 'm'));
      expect(out).toContain(`What to try for open|filtered UDP port ${port}:`);
      expect(out).toContain('dialback listen --udp PORT');
      expect(code).toBe(1);
    } finally {
      silent.close();
    }
  });

  it('listen --udp verifies the port when the probe datagram reaches this machine, and reads open', async () => {
    const port = await freeUdpPort();
    const { code, out } = await cli(['listen', String(port), '--udp', '--api', app.url]);
    expect(out).toMatch(new RegExp(`^${port}/udp\\s+open\\s+udp-response`, 'm'));
    expect(out).toContain(`${port}/udp verified: a datagram from where the check ran reached this machine`);
    expect(code).toBe(0);
  });

  it('listen --udp on a port this machine already uses checks it directly, exits 1 and says how to verify', async () => {
    const busy = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => busy.bind(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const { code, out } = await cli(['listen', String(port), '--udp', '--api', app.url]);
      expect(out).toContain(`Port ${port} is already in use on this machine`);
      expect(out).toContain(`${port}/udp open|filtered, with no proof a datagram reached this machine`);
      expect(out).toContain('run listen --udp again to verify');
      expect(code).toBe(1);
    } finally {
      busy.close();
    }
  });

  it('with --json, a UDP usage error is problem+json on stdout and nothing on stderr', async () => {
    const { code, out, err } = await cli(['0', '--udp', '--json', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toBe('');
    expect(JSON.parse(out)).toMatchObject({ type: 'urn:dialback:cli:usage', title: 'Usage' });
  });

  it('refuses --both with --udp', async () => {
    const { code, err } = await cli(['53', '--udp', '--both', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toContain('--both compares TCP ports');
  });
});

describe('UDP proof listener', () => {
  it('answers its own token only; other and oversized datagrams get nothing back', async () => {
    const port = await freeUdpPort();
    const expected = 'DIALBACK abcdefghijklmnop\n';
    const listener = await listenForUdpProof(port, expected);
    try {
      const target = { address: '127.0.0.1', family: 4 } as const;
      const options = { timeoutMs: 600, datagrams: 2, spacingMs: 100 };
      const wrong = await udpProbePort(target, port, { ...options, greeting: 'DIALBACK bbbbbbbbbbbbbbbb\n' });
      const long = await udpProbePort(target, port, { ...options, greeting: `${expected}${'x'.repeat(200)}` });
      expect([wrong.state, long.state]).toEqual(['open|filtered', 'open|filtered']);
      expect(await listener.whenVerified(0)).toBe(false);

      const right = await udpProbePort(target, port, { ...options, greeting: expected });
      expect(right).toMatchObject({ state: 'open', reason: 'udp-response' });
      expect(await listener.whenVerified(1000)).toBe(true);
      expect(UDP_PROOF_ANSWER.length).toBeLessThan(expected.length);
    } finally {
      await listener.close();
    }
  });
});
