/**
 * UDP end to end, for every row of the UDP lab and both families: the client namespace calls
 * the real Dialback server in the checker over HTTP (`/check?udp=…`), the verdict is the one
 * `nmap -sU` gives with the same payloads, and datagram counts and loss behave as documented
 * (udp-probe.ts). Where the two tools differ, the row says why and both readings are pinned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortResult } from '../../functions/contract/wire.ts';
import { CONFIG_DEFAULTS } from '../../functions/core/config.ts';
import { DEFAULT_ATTEMPT_SPACING_MS } from '../../functions/core/probe.ts';
import { DEFAULT_UDP_DATAGRAMS, udpSendSchedule } from '../../functions/core/udp-probe.ts';
import {
  callDialback,
  checkResults,
  LAB_SERVER_ENV,
  readCounter,
  runCliIn,
  runProbeTrials,
} from '../support/lab/dialback.ts';
import {
  DATAGRAM_COUNTER,
  LISTEN_UDP_PORT,
  type NmapUdpRun,
  nmapUdpScan,
  REDIRECTED_UDP_PORT,
  startUdpLab,
  UDP_ROWS,
  type UdpLab,
  udpClientRuleset,
} from '../support/lab/udp-lab.ts';
import { labSkipReason } from '../support/netns.ts';

const skip = await labSkipReason('UDP lab tests', ['nmap', 'taskset']);

/** Trials per loss rate and family; at most 3% may miss (1 in 256 expected at 50% loss). */
const LOSS_TRIALS = 100;

describe.runIf(skip === undefined)('UDP lab: Dialback over HTTP and nmap -sU against real services and rules', () => {
  let lab: UdpLab;
  const dialback = new Map<4 | 6, ReadonlyMap<number, PortResult>>();
  const nmap = new Map<4 | 6, NmapUdpRun>();
  const ports = UDP_ROWS.map((r) => r.port);

  beforeAll(async () => {
    lab = await startUdpLab('udp', LAB_SERVER_ENV);
    const { pair } = lab;
    for (const [family, server] of lab.servers) {
      const [answer] = await callDialback(pair.client, server, [`/check?udp=${ports.join(',')}`], 1);
      expect(answer?.status).toBe(200);
      dialback.set(family, new Map(checkResults(answer?.body).map((r) => [r.port, r])));
      nmap.set(family, await nmapUdpScan(pair.checker, lab.nmapDataDir, pair.client.address(family), family, ports));
    }
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  for (const family of [4, 6] as const) {
    for (const row of UDP_ROWS) {
      const { state, reason } = row.expected;
      it(`reads ${state} / ${reason} for "${row.name}" (IPv${family})`, () => {
        const result = dialback.get(family)?.get(row.port);
        expect(result).toMatchObject({ port: row.port, protocol: 'udp', state, reason });
        expect(result?.rttMs === null).toBe(reason === 'no-response');
      });
      const nmapReads = row.nmap?.verdict ?? row.expected;
      it(`${row.nmap === undefined ? 'agrees with' : 'differs from'} nmap -sU on "${row.name}" (IPv${family})`, () => {
        expect(nmap.get(family)?.verdicts.get(row.port)).toEqual(nmapReads);
      });
    }

    it(`sends one datagram to an answering port and the whole schedule to a silent one (IPv${family})`, async () => {
      const { checker, client } = lab.pair;
      const count = async (port: number): Promise<number> => {
        const before = await readCounter(checker, DATAGRAM_COUNTER);
        await runProbeTrials(checker, {
          address: client.address(family),
          family,
          ports: [port],
          trials: 1,
          concurrency: 1,
          protocol: 'udp',
        });
        return (await readCounter(checker, DATAGRAM_COUNTER)) - before;
      };
      const answering = UDP_ROWS.find((r) => r.service === 'echo')?.port ?? 0;
      const silent = UDP_ROWS.find((r) => r.service === 'silent')?.port ?? 0;
      expect(await count(answering)).toBe(1);
      const schedule = udpSendSchedule({
        timeoutMs: CONFIG_DEFAULTS.probeTimeoutMs,
        datagrams: DEFAULT_UDP_DATAGRAMS,
        spacingMs: DEFAULT_ATTEMPT_SPACING_MS,
      });
      expect(await count(silent)).toBe(schedule.length);
    });

    for (const loss of [30, 50]) {
      it(`reads an answering port open in at least 97% of ${LOSS_TRIALS} trials with ${loss}% loss on the way in (IPv${family})`, async () => {
        const { checker, client } = lab.pair;
        await client.nft(udpClientRuleset(loss));
        try {
          const trials = await runProbeTrials(checker, {
            address: client.address(family),
            family,
            ports: [UDP_ROWS.find((r) => r.service === 'echo')?.port ?? 0],
            trials: LOSS_TRIALS,
            concurrency: LOSS_TRIALS,
            protocol: 'udp',
          });
          const verdicts = trials.map((t) => t.results[0]);
          const open = verdicts.filter((v) => v?.state === 'open').length;
          // A miss must be the honest one (every datagram lost), never a wrong state or an error.
          expect(verdicts.filter((v) => v?.state !== 'open').map((v) => v?.state)).toEqual(
            Array(LOSS_TRIALS - open).fill('open|filtered'),
          );
          // A miss is every datagram (or its answer) lost; no ICMP error is involved.
          expect(
            open / LOSS_TRIALS,
            `${LOSS_TRIALS - open} misses: datagrams the loss took, no ICMP involved`,
          ).toBeGreaterThanOrEqual(0.97);
        } finally {
          await client.nft(udpClientRuleset());
        }
      });
    }

    it(`listen --udp verifies that the probe's datagram reached this machine, and reads open (IPv${family})`, async () => {
      const server = lab.servers.get(family);
      const { code, out } = await runCliIn(lab.pair.client, [
        'listen',
        String(LISTEN_UDP_PORT),
        '--udp',
        '--api',
        server?.url ?? '',
      ]);
      expect(out).toMatch(new RegExp(`^${LISTEN_UDP_PORT}/udp\\s+open\\s+udp-response`, 'm'));
      expect(out).toContain(
        `${LISTEN_UDP_PORT}/udp verified: a datagram from where the check ran reached this machine`,
      );
      expect(code).toBe(0);
    });

    it(`listen --udp says not verified when another service answers for the port (IPv${family})`, async () => {
      const server = lab.servers.get(family);
      const { code, out } = await runCliIn(lab.pair.client, [
        'listen',
        String(REDIRECTED_UDP_PORT),
        '--udp',
        '--api',
        server?.url ?? '',
      ]);
      expect(out).toMatch(new RegExp(`^${REDIRECTED_UDP_PORT}/udp\\s+open\\s+udp-response`, 'm'));
      expect(out).toContain(
        `${REDIRECTED_UDP_PORT}/udp open, not verified: something answered, but not this machine's listener`,
      );
      expect(code).toBe(1);
    });
  }
});
