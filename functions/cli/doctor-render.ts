/**
 * The doctor's report as people read it: one line per link (✔ held, ✘ broken, ? not judged)
 * with its evidence, then the verdict: the first broken link and the one next step.
 */
import type { DoctorReport, DoctorStatus, DoctorStepName } from '../contract/doctor.ts';
import { paint } from './terminal.ts';

/** Each link's name as the text report prints it. */
export const STEP_TITLES: Readonly<Record<DoctorStepName, string>> = {
  service: 'Service',
  bind: 'Bind address',
  firewall: 'Host firewall',
  address: 'Address and gateway',
  router: 'Router',
  nat: 'NAT layers',
  outside: 'From outside',
};

const MARKS: Readonly<Record<DoctorStatus, { mark: string; colour: 'green' | 'red' | 'yellow' }>> = {
  ok: { mark: '✔', colour: 'green' },
  broken: { mark: '✘', colour: 'red' },
  unknown: { mark: '?', colour: 'yellow' },
};

const TITLE_WIDTH = Math.max(...Object.values(STEP_TITLES).map((t) => t.length));

/** The text report, coloured when `colour`. Backquotes around commands are kept: they mark what to type. */
export function renderDoctor(report: DoctorReport, colour: boolean): string {
  const lines = [`dialback doctor ${report.port}/${report.protocol}`, ''];
  for (const step of report.steps) {
    const { mark, colour: tint } = MARKS[step.status];
    lines.push(`${paint(mark, tint, colour)} ${STEP_TITLES[step.step].padEnd(TITLE_WIDTH)}  ${step.evidence}`);
  }
  const { verdict } = report;
  const where = verdict.step === undefined ? '' : STEP_TITLES[verdict.step].toLowerCase();
  const head =
    verdict.status === 'open'
      ? paint(
          `Open: ${report.port}/${report.protocol} answered from outside, and it was this machine.`,
          'green',
          colour,
        )
      : verdict.status === 'broken'
        ? paint(`Broken at: ${where}.`, 'red', colour)
        : verdict.status === 'failed'
          ? paint('The doctor could not finish: the check from outside did not run.', 'red', colour)
          : paint(`Not proven: nothing was found broken, but ${where} could not be confirmed.`, 'yellow', colour);
  lines.push('', head);
  if (verdict.status !== 'open') lines.push(`Next step: ${verdict.next}`);
  return `${lines.join('\n')}\n`;
}
