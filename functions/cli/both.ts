/**
 * `dialback --both`: asks the same dual-stack API once over IPv4 and once over IPv6, so each
 * check dials back this machine's address of that family, and prints the two side by side.
 */
import type { Answer, CheckResponse, DialbackClient } from '../client/dialback-client.ts';
import { DialbackError } from '../client/dialback-client.ts';
import { diagnose, wrongFamily } from '../contract/families.ts';

/** One family's answer, or why there is none. */
export type FamilyAnswer =
  | { readonly ok: true; readonly check: CheckResponse }
  | { readonly ok: false; readonly error: Error };

/** Both families' answers. */
export interface BothAnswers {
  readonly v4: FamilyAnswer;
  readonly v6: FamilyAnswer;
}

async function settle(call: Promise<Answer<CheckResponse>>, family: 4 | 6): Promise<FamilyAnswer> {
  try {
    const check = (await call).data;
    // A proxy or an IPv4-only endpoint: the check dialed the other family, so it says nothing here.
    const wrong = wrongFamily(check, family);
    return wrong === undefined ? { ok: true, check } : { ok: false, error: new Error(wrong) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** Runs both checks; a 429 on either is thrown, since waiting is the only fix. */
export async function checkBoth(
  clients: { v4: DialbackClient; v6: DialbackClient },
  ports: readonly number[],
): Promise<BothAnswers> {
  const [v4, v6] = await Promise.all([settle(clients.v4.check(ports), 4), settle(clients.v6.check(ports), 6)]);
  for (const answer of [v4, v6]) {
    if (!answer.ok && answer.error instanceof DialbackError && answer.error.status === 429) throw answer.error;
  }
  if (!v4.ok && !v6.ok) throw v4.error;
  return { v4, v6 };
}

function column(answer: FamilyAnswer, family: 4 | 6): string {
  return answer.ok ? `IPv${family} ${answer.check.ip}` : `IPv${family} (no answer)`;
}

/** The side-by-side table and what each difference means; `protocol` names the ports' protocol. */
export function renderBoth(answers: BothAnswers, ports: readonly number[], protocol: 'tcp' | 'udp' = 'tcp'): string {
  const state = (answer: FamilyAnswer, port: number): string =>
    answer.ok ? (answer.check.results.find((r) => r.port === port)?.state ?? '-') : '-';
  const rows = [
    ['PORT', column(answers.v4, 4), column(answers.v6, 6)],
    ...ports.map((port) => [`${port}/${protocol}`, state(answers.v4, port), state(answers.v6, port)]),
  ];
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)) + 2);
  const lines = rows.map(
    (row) => `${(row[0] ?? '').padEnd(widths[0] ?? 0)}${(row[1] ?? '').padEnd(widths[1] ?? 0)}${row[2] ?? ''}`,
  );
  const notes: string[] = [];
  for (const [family, answer] of [
    [4, answers.v4],
    [6, answers.v6],
  ] as const) {
    if (!answer.ok)
      notes.push(`IPv${family}: the API could not be reached over IPv${family} (${answer.error.message}).`);
  }
  if (answers.v4.ok && answers.v6.ok) notes.push(...diagnose(answers.v4.check, answers.v6.check, ports));
  return `${[...lines, '', ...notes].join('\n').trimEnd()}\n`;
}

/** Exit status: 0 only when every port is open over both families. */
export function bothExitCode(answers: BothAnswers): number {
  const allOpen = (answer: FamilyAnswer): boolean => answer.ok && answer.check.results.every((r) => r.state === 'open');
  return allOpen(answers.v4) && allOpen(answers.v6) ? 0 : 1;
}
