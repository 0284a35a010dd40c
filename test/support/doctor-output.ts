/** Reading what `dialback doctor` printed, for the tests that run it (integration and router lab). */
import type { DoctorReport, DoctorStepName } from '../../functions/contract/doctor.ts';

/** The `--json` report of a run, or a failure that shows what the CLI printed instead. */
export function reportOf(out: string): DoctorReport {
  try {
    return JSON.parse(out) as DoctorReport;
  } catch {
    throw new Error(`not a doctor report:\n${out}`);
  }
}

/** One step of a report. */
export const statusOf = (report: DoctorReport, step: DoctorStepName) => report.steps.find((s) => s.step === step);

/** The text line of the step titled `title` (after its mark), or '' when there is none. */
export const line = (out: string, title: string): string =>
  out.split('\n').find((l) => l.slice(2).startsWith(title)) ?? '';
