/**
 * Child script for the lab's checker namespace: runs Dialback's probe itself (no HTTP, no rate
 * limiter) for many trials, at most `concurrency` at a time, and prints one JSON array of
 * `{ results, elapsedMs }`, where `elapsedMs` is the probe's own time to its verdict.
 * Options left out are the service's defaults, so the lab measures what ships.
 * Usage: node --import tsx test/support/lab/probe-runner.ts '{"address":"198.18.1.2","family":4,"ports":[20001],"trials":200,"concurrency":50}'
 */

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { PortResult } from '../../../functions/contract/wire.ts';
import { CONFIG_DEFAULTS } from '../../../functions/core/config.ts';
import { DEFAULT_ATTEMPT_SPACING_MS } from '../../../functions/core/probe.ts';
import { DEFAULT_UDP_DATAGRAMS, udpProbePorts } from '../../../functions/core/udp-probe.ts';
import { probeRemembering, type UnprovenDial } from './remembering-probe.ts';

/** What the parent passes as the only argument. */
export interface ProbeJob {
  readonly address: string;
  readonly family: 4 | 6;
  readonly ports: readonly number[];
  readonly trials: number;
  readonly concurrency: number;
  readonly timeoutMs?: number;
  readonly attempts?: number;
  readonly attemptSpacingMs?: number;
  /** `udp` runs the UDP probe (with its default datagrams, spaced `attemptSpacingMs`); default TCP. */
  readonly protocol?: 'tcp' | 'udp';
  /**
   * A pause before every trial but the first, outside the trial's own time: a client's ICMP
   * budget refills between checks, as between a person's checks. Use with `concurrency: 1`.
   */
  readonly pauseMs?: number;
}

/** One trial: the verdicts for all ports, and the probe's own time to them. */
export interface ProbeTrial {
  readonly results: readonly PortResult[];
  readonly elapsedMs: number;
  /**
   * The longest this process's event loop was held up during the trial (ms): on a busy machine
   * a timer fires late by about that much, so a deadline is checked against `elapsedMs` less it.
   */
  readonly loopLagMs: number;
  /**
   * Dials the runtime reported connected with no connection behind them (`onUnproven`): the
   * port, and what the checker's kernel held for the socket at that moment (`kernelView`).
   */
  readonly unproven: readonly UnprovenDial[];
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as ProbeJob;
  const options = {
    timeoutMs: job.timeoutMs ?? CONFIG_DEFAULTS.probeTimeoutMs,
    attempts: job.attempts ?? CONFIG_DEFAULTS.probeAttempts,
    attemptSpacingMs: job.attemptSpacingMs ?? DEFAULT_ATTEMPT_SPACING_MS,
  };
  const trials: ProbeTrial[] = new Array(job.trials);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < job.trials) {
      const i = next++;
      if (i > 0 && job.pauseMs !== undefined) await new Promise((r) => setTimeout(r, job.pauseMs));
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const started = performance.now();
      const target = { address: job.address, family: job.family };
      const unproven: UnprovenDial[] = [];
      const results: readonly PortResult[] =
        job.protocol === 'udp'
          ? await udpProbePorts(target, job.ports, {
              timeoutMs: options.timeoutMs,
              datagrams: DEFAULT_UDP_DATAGRAMS,
              spacingMs: options.attemptSpacingMs,
            })
          : await probeRemembering(target, job.ports, options, unproven);
      const elapsedMs = performance.now() - started;
      lag.disable();
      // The histogram counts the sampling timer's own period in each delay; only the excess is lag.
      trials[i] = { results, elapsedMs, loopLagMs: Math.max(0, lag.max / 1e6 - 10), unproven };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, worker));
  process.stdout.write(JSON.stringify(trials));
}

await main();
