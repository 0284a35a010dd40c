/**
 * What `dialback doctor PORT` reports, as data: one value per link of the chain from the
 * service on this machine out to the Internet, then the verdict. `dialback doctor --json`
 * prints a `DoctorReport`; programs and support tools read that shape, people read the text
 * rendered from it. Steps the doctor cannot judge yet say so (`unknown`) instead of guessing.
 */
import type { CheckResponse } from './wire.ts';

/** A link held (`ok`), a link that stops the port from being reached (`broken`), or not judged (`unknown`). */
export type DoctorStatus = 'ok' | 'broken' | 'unknown';

/** The links of the chain, in the order the doctor walks them (the service outward). */
export const DOCTOR_STEPS = ['service', 'bind', 'firewall', 'address', 'router', 'nat', 'outside'] as const;

/** One link's name. */
export type DoctorStepName = (typeof DOCTOR_STEPS)[number];

/** One link of the chain: what the doctor found and how it knows. */
export interface DoctorStep {
  readonly step: DoctorStepName;
  readonly status: DoctorStatus;
  /** What was seen, with where it was read from, in one sentence or two. */
  readonly evidence: string;
  /** What to do about it, when there is something to do. */
  readonly advice?: string;
}

/** The doctor's conclusion: the first broken link and the one next step. */
export interface DoctorVerdict {
  /**
   * `open`: the port answered from outside and the answer was this machine's (exit 0).
   * `broken`: `step` is the first broken link (exit 1). `unproven`: nothing was found broken,
   * but the port was not proven open from outside either (exit 1). `failed`: the doctor could
   * not run its check (exit 2).
   */
  readonly status: 'open' | 'broken' | 'unproven' | 'failed';
  /** The link the verdict is about (the first broken one, or the first not judged). */
  readonly step?: DoctorStepName;
  /** The one next step, in words a person can act on. */
  readonly next: string;
}

/** The whole report: `dialback doctor --json` prints exactly this. */
export interface DoctorReport {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  /** Every link, in `DOCTOR_STEPS` order. */
  readonly steps: readonly DoctorStep[];
  readonly verdict: DoctorVerdict;
  /** The API's answer to the check from outside, when it gave one. */
  readonly check?: CheckResponse;
}

/** The exit status a verdict stands for: 0 open and proven, 1 a broken link or unproven, 2 could not run. */
export function doctorExitCode(verdict: DoctorVerdict): 0 | 1 | 2 {
  if (verdict.status === 'open') return 0;
  return verdict.status === 'failed' ? 2 : 1;
}

/**
 * The verdict of a walk: the first broken link wins. When the only broken link is the outside
 * check itself, the first link before it that could not be judged is the suspect (the firewall
 * the doctor could not read, the router it cannot see yet), and its advice is the next step.
 * A walk with nothing broken is open only when the outside step held (proven); a failed outside
 * check is a doctor that could not run.
 */
export function doctorVerdict(steps: readonly DoctorStep[], outsideFailed: boolean): DoctorVerdict {
  const broken = steps.find((s) => s.status === 'broken');
  const outside = steps.find((s) => s.step === 'outside');
  if (broken?.step === 'outside') {
    const suspect = steps.find((s) => s.status === 'unknown' && s.advice !== undefined && s.step !== 'outside');
    const why = suspect ?? broken;
    return { status: 'broken', step: why.step, next: why.advice ?? why.evidence };
  }
  if (broken !== undefined) return { status: 'broken', step: broken.step, next: broken.advice ?? broken.evidence };
  if (outside?.status === 'ok') return { status: 'open', step: 'outside', next: 'Nothing to do: the port is open.' };
  const next = outside?.advice ?? outside?.evidence ?? 'Run the doctor again.';
  return { status: outsideFailed ? 'failed' : 'unproven', step: 'outside', next };
}
