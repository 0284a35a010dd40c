/**
 * Verdicts against a client that keeps Linux's default ICMP error rate limit (a burst of 6 errors
 * per destination, then one a second on IPv4, faster on IPv6 routes shorter than /128, measured
 * on the lab's kernel). Ten rejected ports checked at once used to leave some silent, read
 * `filtered / no-response`; the probe now keeps asking those at the host's pace. Checks are
 * spaced so the limit refills, as it would between a person's checks. Each reject kind and the
 * mixed check get a lab pair of their own (their own client, hence their own ICMP budget), so
 * all of them and both families run at the same time. The probe runs with the shipped schedule
 * and deadline. UDP shares the pacing: ten closed UDP ports, in a UDP lab of their own, run
 * beside them (about 35 s that would otherwise be a file of its own).
 *
 * What a run must never show is a wrong answer: every verdict is the expected one or honest
 * silence carrying the re-check hint, and every open verdict is backed by a SYN-ACK on the wire
 * (`runProbeTrials` holds it to that). How often the host's budget lets every port be answered
 * depends on how busy the machine is (an ICMP error that meets the checker's socket locked is
 * dropped by the kernel, `TcpExtLockDroppedIcmps`, and reported here when a run misses); the
 * ≥ 98% share is measured by `npm run bench -- lab` over many more checks, and this file keeps
 * only a floor that a working pacing clears with room (see `SHARE_FLOOR`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortResult } from '../../functions/contract/wire.ts';
import { CONFIG_DEFAULTS } from '../../functions/core/config.ts';
import { RATE_LIMIT_EXTENSION_MS } from '../../functions/core/pacing.ts';
import { runProbeTrials } from '../support/lab/dialback.ts';
import { type Lab, startLab } from '../support/lab/lab.ts';
import type { ProbeTrial } from '../support/lab/probe-runner.ts';
import {
  applySysctls,
  clientRuleset,
  KERNEL_ICMP_LIMITS,
  REJECT_BLOCKS,
  rejectBlock,
  rejectBlocksRuleset,
  type Verdict,
  verdictRow,
} from '../support/lab/rules.ts';
import { startUdpLab, type UdpLab, udpClientRuleset } from '../support/lab/udp-lab.ts';
import { assertNoHandshakeFrom, lockDroppedIcmps } from '../support/lab/wire.ts';
import { labSkipReason } from '../support/netns.ts';

/** Ten-port checks per reject kind and family: 50 verdicts. The benchmark runs more. */
const CHECKS = 5;
/**
 * The least share of the 50 verdicts that must be answered (the rest honest silence). Full-suite
 * runs on 2 cores answered 0.88 to 1.0 of them per reject kind and family, and once 0.64. Take
 * the per-verdict chance of an answer as p = 0.75 and the worst case for a fixed floor: misses
 * that come together, a check either answering all ten or (chance 0.25) none. A run then falls
 * under 0.4 only if four of its five checks answer nothing: 5·0.25⁴·0.75 + 0.25⁵ ≈ 0.016; with
 * misses spread over ports, as seen (1 to 6 per check), P(X < 20 | n = 50, p = 0.75) ≈ 3·10⁻⁸,
 * and at p = 0.64 still ≈ 2·10⁻⁴. A probe that stopped pacing answers about 0.8 here, so this
 * floor does not measure the pacing (the benchmark does, with enough checks to see 98%): it
 * catches a probe that stopped answering, and the no-wrong-answer rule does the rest.
 */
const SHARE_FLOOR = 0.4;
/** Mixed checks per family. */
const MIXED_CHECKS = 2;
/** Pause before every check but a lab's first: the client's burst refills by one error a second. */
const REFILL_MS = 5000;

const OPEN = verdictRow(4, 'listener');
const DROPPED = verdictRow(4, 'drop');
const PORT_UNREACH = rejectBlock('reject with icmpx port-unreachable');
/** Ten UDP ports nothing listens on and no rule covers (the UDP rows end at 20107, listeners at 20120). */
const UDP_CLOSED_TEN = Array.from({ length: 10 }, (_, i) => 20_110 + i);
/** UDP checks per family: 30 verdicts; the benchmark runs 100. */
const UDP_CHECKS = 3;
/** One open, one dropped, eight rejected. */
const MIXED_PORTS = [OPEN.port, DROPPED.port, ...PORT_UNREACH.ports.slice(0, 8)];

const skip = await labSkipReason('ICMP rate-limit lab tests', ['taskset']);

/** `count` checks of `ports` one at a time, `REFILL_MS` apart, from the lab's checker. */
async function checks(lab: Lab, family: 4 | 6, ports: readonly number[], count: number): Promise<ProbeTrial[]> {
  const out: ProbeTrial[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, REFILL_MS));
    const address = lab.pair.client.address(family);
    out.push(...(await runProbeTrials(lab.pair.checker, { address, family, ports, trials: 1, concurrency: 1 })));
  }
  return out;
}

function share(results: readonly PortResult[], want: Verdict): number {
  return results.filter((r) => r.state === want.state && r.reason === want.reason).length / results.length;
}

describe.runIf(skip === undefined)("probe against a client that keeps Linux's default ICMP rate limit", () => {
  const labs: Lab[] = [];
  let udpLab: UdpLab | undefined;
  const udpResults = new Map<4 | 6, PortResult[]>();
  const trials = new Map<string, ProbeTrial[]>();
  /** Per lab: ICMP errors its checker's kernel dropped on a locked socket during the checks. */
  const lockDropped = new Map<string, number>();
  const key = (what: string, family: 4 | 6): string => `${what} (IPv${family})`;

  /** In a lab of its own: `count` checks of `ports` per family, kept under `what`. */
  async function runChecks(what: string, ports: readonly number[], count: number, i: number): Promise<void> {
    const lab = await startLab(`icmp${i}`);
    labs.push(lab);
    const { client, checker } = lab.pair;
    await client.nft(`${clientRuleset()}\n${rejectBlocksRuleset()}`);
    await applySysctls(client, KERNEL_ICMP_LIMITS);
    const droppedBefore = await lockDroppedIcmps(checker);
    await Promise.all(
      ([4, 6] as const).map(async (family) => {
        // First contact resolves the neighbours both ways (on the Internet the client's router
        // has long done so); an ICMP error queued behind that resolution can be lost.
        await runProbeTrials(checker, {
          address: client.address(family),
          family,
          ports: [OPEN.port],
          trials: 1,
          concurrency: 1,
        });
        trials.set(key(what, family), await checks(lab, family, ports, count));
        // Only the open port may ever have answered with a handshake; anything else is the lab's fault.
        await assertNoHandshakeFrom(
          checker,
          family,
          ports.filter((p) => p !== OPEN.port),
        );
      }),
    );
    lockDropped.set(what, (await lockDroppedIcmps(checker)) - droppedBefore);
  }

  /** In a UDP lab of its own: `UDP_CHECKS` checks of ten closed ports per family. */
  async function runUdpChecks(): Promise<void> {
    udpLab = await startUdpLab('icmpu');
    await udpLab.pair.client.nft(udpClientRuleset());
    await applySysctls(udpLab.pair.client, KERNEL_ICMP_LIMITS);
    const { checker, client } = udpLab.pair;
    await Promise.all(
      ([4, 6] as const).map(async (family) => {
        const job = { address: client.address(family), family, protocol: 'udp' as const, concurrency: 1 };
        // First contact, as above; then a pause so the budget it spent refills.
        await runProbeTrials(checker, { ...job, ports: UDP_CLOSED_TEN.slice(0, 1), trials: 1 });
        await new Promise((r) => setTimeout(r, REFILL_MS));
        const done = await runProbeTrials(checker, {
          ...job,
          ports: UDP_CLOSED_TEN,
          trials: UDP_CHECKS,
          pauseMs: REFILL_MS,
        });
        udpResults.set(
          family,
          done.flatMap((t) => [...t.results]),
        );
      }),
    );
  }

  beforeAll(async () => {
    await Promise.all([
      ...REJECT_BLOCKS.map((block, i) => runChecks(block.name, block.ports, CHECKS, i)),
      runChecks('mixed', MIXED_PORTS, MIXED_CHECKS, REJECT_BLOCKS.length),
      runUdpChecks(),
    ]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([...labs.map((lab) => lab.pair.destroy()), udpLab?.destroy()]);
  });

  for (const block of REJECT_BLOCKS) {
    for (const family of [4, 6] as const) {
      const want = block.expected[family];
      it(`reads ${want.state} / ${want.reason} or honest silence for ten ports checked at once, never another answer, "${block.name}" (IPv${family})`, () => {
        const results = (trials.get(key(block.name, family)) ?? []).flatMap((t) => t.results);
        expect(results).toHaveLength(CHECKS * block.ports.length);
        const misses = results.filter((r) => r.state !== want.state || r.reason !== want.reason);
        if (misses.length > 0) {
          console.log(
            `${key(block.name, family)}: ${misses.length} of ${results.length} silent; ` +
              `ICMP errors the checker's kernel dropped on a locked socket in this lab: ${lockDropped.get(block.name)}`,
          );
        }
        // A miss is honest silence, said to be worth a second look, never another answer.
        for (const miss of misses)
          expect(miss).toMatchObject({ state: 'filtered', reason: 'no-response', hint: 'icmp-rate-limit' });
        expect(share(results, want)).toBeGreaterThanOrEqual(SHARE_FLOOR);
      });
    }
  }

  for (const family of [4, 6] as const) {
    it(`gets one open, one dropped and eight rejected ports right in one check, the dropped one by the deadline (IPv${family})`, () => {
      const mixed = trials.get(key('mixed', family)) ?? [];
      expect(mixed).toHaveLength(MIXED_CHECKS);
      for (const trial of mixed) {
        const byPort = new Map(trial.results.map((r) => [r.port, r]));
        expect(byPort.get(OPEN.port)).toMatchObject(OPEN.expected);
        // Silence from the dropped port, whether cleared as a plain drop or not; it comes from a
        // host seen rate-limiting, so it may carry the re-check hint, and nothing else.
        const dropped: Record<string, unknown> = { ...byPort.get(DROPPED.port) };
        expect([undefined, 'icmp-rate-limit']).toContain(dropped.hint);
        delete dropped.hint;
        expect(dropped).toEqual({ port: DROPPED.port, ...DROPPED.expected, rttMs: null });
        const rejected = PORT_UNREACH.ports.slice(0, 8).map((port) => byPort.get(port));
        const answered = rejected.filter((r) => r?.state === PORT_UNREACH.expected[family].state);
        for (const r of rejected) {
          if (!answered.includes(r)) {
            expect(r).toMatchObject({ state: 'filtered', reason: 'no-response', hint: 'icmp-rate-limit' });
          } else expect(r).toMatchObject(PORT_UNREACH.expected[family]);
        }
        // With every rejected port answered, nothing but the dropped port was silent: it must
        // not have held the check past the deadline (the probe's own clock, as in loss.test.ts,
        // less the time its event loop was held up by a busy machine). A rejected port left
        // silent holds the check for the extension, so the clearing rule is then pinned by the
        // pacing's unit tests, not by this clock.
        const limit =
          answered.length === rejected.length ? 1 : 1 + RATE_LIMIT_EXTENSION_MS / CONFIG_DEFAULTS.probeTimeoutMs;
        expect(trial.elapsedMs - trial.loopLagMs).toBeLessThanOrEqual(CONFIG_DEFAULTS.probeTimeoutMs * limit * 1.1);
      }
    });
  }

  for (const family of [4, 6] as const) {
    it(`reads ten closed UDP ports checked at once closed / port-unreach, or honestly open|filtered, never another answer (IPv${family})`, () => {
      const got = udpResults.get(family) ?? [];
      expect(got).toHaveLength(UDP_CHECKS * UDP_CLOSED_TEN.length);
      const closed = got.filter((r) => r.state === 'closed' && r.reason === 'port-unreach');
      const misses = got.filter((r) => !closed.includes(r));
      // No lock-dropped count to give here: TcpExtLockDroppedIcmps is TCP's, and Linux records an
      // ICMP error on a connected UDP socket whether or not the socket is busy; a UDP miss is an
      // error the client's budget did not pay, or one that came after its dial was dropped.
      if (misses.length > 0) {
        console.log(
          `UDP (IPv${family}): ${misses.length} of ${got.length} silent (no lock-dropped count: UDP records ICMP errors on a busy socket)`,
        );
      }
      for (const miss of misses) expect(miss).toMatchObject({ state: 'open|filtered', reason: 'no-response' });
      expect(closed.length / got.length).toBeGreaterThanOrEqual(SHARE_FLOOR);
    });
  }
});
