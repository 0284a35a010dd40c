/**
 * What the CLI prints for people after a check's table: the advice for each port that is not
 * open, grouped by advice, and the notice when the check was local, not the Internet's view.
 * One place for the single check, `--both`, `--from` and `listen`.
 */
import type { CheckResponse } from '../client/dialback-client.ts';
import { isPublicAddress } from '../contract/address.ts';
import { renderCheckText } from '../contract/render-text.ts';
import { localViewNotice, nextStepsOf } from '../contract/verdict-text.ts';
import { protocolOf } from '../contract/wire.ts';
import type { BothAnswers } from './both.ts';
import { colourStates } from './terminal.ts';

/** What to try, once per distinct piece of advice, naming the ports it is for. */
export function nextSteps(check: CheckResponse): string {
  const groups = new Map<string, { state: string; ports: number[]; steps: readonly string[] }>();
  for (const result of check.results) {
    const steps = nextStepsOf(result);
    if (result.state === 'open' || steps.length === 0) continue;
    const protocol = protocolOf(result);
    const key = `${protocol}\n${steps.join('\n')}`;
    const state = protocol === 'udp' ? `${result.state} UDP` : result.state;
    const group = groups.get(key) ?? { state, ports: [], steps };
    group.ports.push(result.port);
    groups.set(key, group);
  }
  const lines: string[] = [];
  for (const { state, ports, steps } of groups.values()) {
    lines.push(`What to try for ${state} ${ports.length > 1 ? 'ports' : 'port'} ${ports.join(', ')}:`);
    lines.push(...steps.map((s) => `  - ${s.replaceAll('`', '')}`));
  }
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}

/** The check as people read it: the table, the advice, and a word when it was not the Internet's view. */
export function renderForPeople(check: CheckResponse, colour: boolean, tail = ''): string {
  const local = isPublicAddress(check.ip) ? undefined : localViewNotice(check.ip, undefined).replaceAll('`', '');
  return colourStates(`${renderCheckText(check, local)}${tail}${nextSteps(check)}`, colour);
}

/**
 * What follows a table of several checks (`--both`, `--from`): each check's advice for its ports
 * that are not open, and the local-check notice once. With `label`, each check's advice comes
 * under its name; without, each piece of advice is given once, whichever checks share it.
 */
export function checksTail(checks: readonly CheckResponse[], label?: (check: CheckResponse) => string): string {
  const advice: string[] = [];
  for (const check of checks) {
    const steps = nextSteps(check);
    if (steps === '' || (label === undefined && advice.includes(steps))) continue;
    advice.push(label === undefined ? steps : `\n${label(check)}:${steps}`);
  }
  const local = checks.find((check) => !isPublicAddress(check.ip));
  const notice = local === undefined ? '' : `\n${localViewNotice(local.ip, undefined).replaceAll('`', '')}\n`;
  return `${advice.join('')}${notice}`;
}

/** `checksTail` for `--both`: each family's advice under its name. */
export function bothTail(answers: BothAnswers): string {
  const checks = [answers.v4, answers.v6].flatMap((a) => (a.ok ? [a.check] : []));
  return checksTail(checks, (check) => `IPv${check.family}`);
}
