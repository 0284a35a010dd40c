/**
 * UDP against a client that keeps Linux's default ICMP error rate limit: ten closed ports checked
 * at once get six port-unreachables at once (the burst) and then one a second on IPv4, so without
 * pacing most of a check read `open|filtered`. The UDP probe shares the TCP probe's pacing
 * (functions/core/pacing.ts) and asks the silent ports again at the host's pace. Checks are
 * spaced so the budget refills, as between a person's checks; a lab of its own (its own client,
 * hence its own budget), both families at once.
 *
 * As in the TCP rate-limit lab, what must never show is a wrong answer: a port reads `closed /
 * port-unreach` or, when the host's budget ran out, `open|filtered / no-response`. The ≥ 98%
 * share beside `nmap -sU` is the benchmark's (`npm run bench -- udp`); here a floor, whose odds
 * are worked out in icmp-rate-limit.test.ts, catches a probe that stopped answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortResult } from '../../functions/contract/wire.ts';
import { runProbeTrials } from '../support/lab/dialback.ts';
import { applySysctls, KERNEL_ICMP_LIMITS } from '../support/lab/rules.ts';
import { startUdpLab, type UdpLab, udpClientRuleset } from '../support/lab/udp-lab.ts';
import { labSkipReason } from '../support/netns.ts';

/** Ten ports nothing listens on and no rule covers (the UDP rows end at 20107, listeners at 20120). */
const CLOSED_TEN = Array.from({ length: 10 }, (_, i) => 20_110 + i);
const CHECKS = 3;
const REFILL_MS = 5000;
/** As in icmp-rate-limit.test.ts. */
const SHARE_FLOOR = 0.4;

const skip = await labSkipReason('UDP ICMP rate-limit lab tests', ['taskset']);

describe.runIf(skip === undefined)("UDP probe against a client that keeps Linux's default ICMP rate limit", () => {
  let lab: UdpLab;
  const results = new Map<4 | 6, PortResult[]>();

  beforeAll(async () => {
    lab = await startUdpLab('udprl');
    await lab.pair.client.nft(udpClientRuleset());
    await applySysctls(lab.pair.client, KERNEL_ICMP_LIMITS);
    await Promise.all(
      ([4, 6] as const).map(async (family) => {
        const address = lab.pair.client.address(family);
        const job = { address, family, ports: CLOSED_TEN, protocol: 'udp' as const, concurrency: 1 };
        // First contact resolves the neighbours both ways, as a caller's router long has.
        await runProbeTrials(lab.pair.checker, { ...job, ports: [CLOSED_TEN[0] ?? 0], trials: 1 });
        await new Promise((r) => setTimeout(r, REFILL_MS));
        const trials = await runProbeTrials(lab.pair.checker, { ...job, trials: CHECKS, pauseMs: REFILL_MS });
        results.set(
          family,
          trials.flatMap((t) => [...t.results]),
        );
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  for (const family of [4, 6] as const) {
    it(`reads ten closed ports checked at once closed / port-unreach, or honestly open|filtered, never another answer (IPv${family})`, () => {
      const got = results.get(family) ?? [];
      expect(got).toHaveLength(CHECKS * CLOSED_TEN.length);
      const closed = got.filter((r) => r.state === 'closed' && r.reason === 'port-unreach');
      const misses = got.filter((r) => !closed.includes(r));
      if (misses.length > 0) console.log(`UDP rate-limit lab (IPv${family}): ${misses.length} of ${got.length} silent`);
      for (const miss of misses) expect(miss).toMatchObject({ state: 'open|filtered', reason: 'no-response' });
      expect(closed.length / got.length).toBeGreaterThanOrEqual(SHARE_FLOOR);
    });
  }
});
