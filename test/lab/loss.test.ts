/**
 * Verdicts under packet loss, made by nftables on the checker (`numgen random mod 100 < N drop`
 * on every SYN it sends to the client), with the probe's shipped attempt schedule and classic
 * SYN backoff. An open port must read open in at least 99% of trials; a dropped port must still
 * read filtered, and by the deadline: its verdict may not wait for the last retransmission.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbeTrials } from '../support/lab/dialback.ts';
import { startLab } from '../support/lab/lab.ts';
import { checkerRuleset, verdictRow } from '../support/lab/rules.ts';
import { type LabPair, labSkipReason } from '../support/netns.ts';

/** Trials per loss rate and family; at most 1% may miss, i.e. 3 of 300. */
const OPEN_TRIALS = 300;
/** Trials run at once: enough to be quick, few enough for one process's sockets and timers. */
const CONCURRENCY = 100;
/** The deadline for the dropped-port trials: short, so the test stays quick. */
const SHORT_TIMEOUT_MS = 1200;
const DROPPED_TRIALS = 20;

const skip = await labSkipReason('loss lab tests', ['taskset']);

describe.runIf(skip === undefined)('probe under random SYN loss on the checker', () => {
  let pair: LabPair;
  // The same port numbers in both families.
  const openPort = verdictRow(4, 'listener').port;
  const droppedPort = verdictRow(4, 'drop').port;

  beforeAll(async () => {
    ({ pair } = await startLab('loss'));
  });

  afterAll(async () => {
    await pair?.destroy();
  });

  /** Sets the checker's loss, then probes one port `trials` times at once (bounded). */
  async function trialsUnderLoss(loss: number, family: 4 | 6, port: number, trials: number, timeoutMs?: number) {
    await pair.checker.nft(checkerRuleset(loss));
    return runProbeTrials(pair.checker, {
      address: pair.client.address(family),
      family,
      ports: [port],
      trials,
      concurrency: Math.min(trials, CONCURRENCY),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  }

  for (const loss of [30, 50]) {
    for (const family of [4, 6] as const) {
      it(`reads open in at least 99% of ${OPEN_TRIALS} trials with ${loss}% SYN loss (IPv${family})`, async () => {
        const trials = await trialsUnderLoss(loss, family, openPort, OPEN_TRIALS);
        const verdicts = trials.map((t) => t.results[0]);
        const open = verdicts.filter((v) => v?.state === 'open' && v.reason === 'syn-ack').length;
        // Anything but open must be the honest miss (no SYN got through), never a local error.
        expect(verdicts.filter((v) => v?.state !== 'open').map((v) => v?.reason)).toEqual(
          Array(OPEN_TRIALS - open).fill('no-response'),
        );
        // A miss here is every SYN lost; no ICMP error is involved, so no lock-dropped count applies.
        expect(
          open / OPEN_TRIALS,
          `${OPEN_TRIALS - open} misses: SYNs the loss took, no ICMP involved`,
        ).toBeGreaterThanOrEqual(0.99);
      });

      it(`reads a dropped port filtered within PROBE_TIMEOUT_MS + 10% with ${loss}% SYN loss (IPv${family})`, async () => {
        const trials = await trialsUnderLoss(loss, family, droppedPort, DROPPED_TRIALS, SHORT_TIMEOUT_MS);
        for (const trial of trials) {
          expect(trial.results[0]).toEqual({
            port: droppedPort,
            state: 'filtered',
            reason: 'no-response',
            rttMs: null,
          });
          // The deadline is a correctness property (an answer after it is no answer); measured
          // by the probe's own clock in its own process, not by this test's, less the time its
          // event loop was held up (a timer fires that much late on a busy machine).
          expect(trial.elapsedMs).toBeGreaterThanOrEqual(SHORT_TIMEOUT_MS - 5);
          expect(trial.elapsedMs - trial.loopLagMs).toBeLessThanOrEqual(SHORT_TIMEOUT_MS * 1.1);
        }
      });
    }
  }
});
