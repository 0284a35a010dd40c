/**
 * End to end, for every firewall row of DESIGN §2 and both families: the client namespace calls
 * the real Dialback server in the checker namespace over HTTP, the verdict (state and reason)
 * is the one DESIGN §2 gives, and `nmap -sT` run from the checker against the same rules agrees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpPortResult as PortResult } from '../../functions/contract/wire.ts';
import { callDialback, checkResults, LAB_SERVER_ENV } from '../support/lab/dialback.ts';
import { type Lab, startLab } from '../support/lab/lab.ts';
import { type NmapRun, nmapScan } from '../support/lab/nmap.ts';
import { verdictRows } from '../support/lab/rules.ts';
import { assertNoHandshakeFrom, lockDroppedIcmps, openWithoutHandshake } from '../support/lab/wire.ts';
import { labSkipReason } from '../support/netns.ts';

const skip = await labSkipReason('verdict lab tests', ['nmap', 'taskset']);

describe.runIf(skip === undefined)('verdict lab: Dialback over HTTP and nmap -sT against real nftables rules', () => {
  let lab: Lab;
  const dialback = new Map<4 | 6, ReadonlyMap<number, PortResult>>();
  const nmap = new Map<4 | 6, NmapRun>();
  const unbacked = new Map<4 | 6, number[]>();
  /** ICMP errors the checker's kernel dropped on a locked socket while Dialback asked: said with any miss. */
  let lockDropped = 0;

  beforeAll(async () => {
    lab = await startLab('verdict', LAB_SERVER_ENV);
    // Dialback first, then Nmap: each family's ports are asked about by one tool at a time.
    const { pair } = lab;
    for (const [family, server] of lab.servers) {
      const rows = verdictRows(family);
      const ports = rows.map((r) => r.port);
      const before = await lockDroppedIcmps(pair.checker);
      const [answer] = await callDialback(pair.client, server, [`/check?ports=${ports.join(',')}`], 1);
      lockDropped += (await lockDroppedIcmps(pair.checker)) - before;
      expect(answer?.status).toBe(200);
      const results = checkResults(answer?.body);
      dialback.set(family, new Map(results.map((r) => [r.port, r])));
      unbacked.set(family, await openWithoutHandshake(pair.checker, family, results));
      // A port nothing listens on never sends a SYN-ACK; if one did, the lab is broken, not the verdict.
      await assertNoHandshakeFrom(
        pair.checker,
        family,
        rows.filter((r) => !r.listen).map((r) => r.port),
      );
      nmap.set(family, await nmapScan(pair.checker, pair.client.address(family), family, ports));
    }
  }, 120_000);

  afterAll(async () => {
    await lab?.pair.destroy();
  });

  for (const family of [4, 6] as const) {
    it(`reads no port open that sent the checker no SYN-ACK (IPv${family})`, () => {
      expect(unbacked.get(family)).toEqual([]);
    });

    for (const row of verdictRows(family)) {
      const { state, reason } = row.expected;
      it(`reads ${state} / ${reason} for "${row.name}" (IPv${family})`, () => {
        const result = dialback.get(family)?.get(row.port);
        expect(result, `ICMP errors dropped on a locked socket in this lab: ${lockDropped}`).toMatchObject({
          port: row.port,
          state,
          reason,
        });
        // An answer carries its round trip; silence does not.
        expect(result?.rttMs === null).toBe(reason === 'no-response');
      });

      if (row.random) continue; // Random loss: Nmap's miss rate is the benchmark's subject, not a pass/fail.
      it(`agrees with nmap -sT on "${row.name}" (IPv${family})`, () => {
        expect(nmap.get(family)?.verdicts.get(row.port)).toEqual({ state, reason });
      });
    }
  }
});
