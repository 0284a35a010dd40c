import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  nextStepsFor,
  resultExplanation,
  resultMeaning,
  STATE_NEXT_STEPS,
  UDP_NEXT_STEPS,
} from '../../functions/contract/verdict-text.ts';
import {
  PORT_REASONS,
  type TcpPortReason as PortReason,
  type TcpPortState as PortState,
} from '../../functions/contract/wire.ts';

/** The state each reason comes with (DESIGN §2). */
const STATE_OF: Readonly<Record<PortReason, PortState>> = {
  'syn-ack': 'open',
  'conn-refused': 'closed',
  'no-response': 'filtered',
  'host-unreach': 'filtered',
  'net-unreach': 'filtered',
  'admin-prohibited': 'filtered',
  'proto-unreach': 'filtered',
  'dest-unreach': 'filtered',
  'blocked-at-source': 'untestable',
  'no-ipv6-egress': 'untestable',
};

describe('verdict text', () => {
  // The TCP reasons: UDP's have their own tables (UDP_STATE_MEANING, UDP_NEXT_STEPS).
  const tcpReasons = PORT_REASONS.filter((r): r is PortReason => r in STATE_OF);
  it.each(tcpReasons)('%s: the meaning starts with its state and there is something to do', (reason) => {
    const result = { state: STATE_OF[reason], reason };
    expect(resultMeaning(result).startsWith(`${result.state}: `)).toBe(true);
    expect(resultExplanation(result)).toMatch(/^[A-Z]/);
    expect(nextStepsFor(result).length).toBeGreaterThan(0);
  });

  it('does not say "nothing answered" when a router or firewall answered', () => {
    for (const reason of [
      'host-unreach',
      'net-unreach',
      'admin-prohibited',
      'proto-unreach',
      'dest-unreach',
    ] as const) {
      expect(resultMeaning({ state: 'filtered', reason })).not.toMatch(/nothing answered/i);
      expect(resultMeaning({ state: 'filtered', reason })).toMatch(/answered/);
    }
    expect(resultMeaning({ state: 'filtered', reason: 'no-response' })).toMatch(/nothing answered in time/);
  });

  it('keeps port 25 and IPv6 apart under untestable', () => {
    const smtp = [
      resultMeaning({ state: 'untestable', reason: 'blocked-at-source' }),
      ...nextStepsFor({ state: 'untestable', reason: 'blocked-at-source' }),
    ].join(' ');
    const v6 = [
      resultMeaning({ state: 'untestable', reason: 'no-ipv6-egress' }),
      ...nextStepsFor({ state: 'untestable', reason: 'no-ipv6-egress' }),
    ].join(' ');
    expect(smtp).toMatch(/port 25/);
    expect(smtp).not.toMatch(/IPv6/);
    expect(v6).toMatch(/IPv6/);
    expect(v6).not.toMatch(/port 25|mail/);
  });

  it('never points to something "below" that is not there, in the TCP or the UDP advice', () => {
    for (const steps of [...Object.values(STATE_NEXT_STEPS), ...Object.values(UDP_NEXT_STEPS)])
      for (const step of steps) expect(step).not.toMatch(/see below/);
  });

  it.each([
    [0, '0 s'],
    [45, '45 s'],
    [60, '1 min'],
    [185, '3 min 5 s'],
    [3600, '1 h'],
    [8746, '2 h 25 min'],
    [86_399, '23 h 59 min'],
  ])('says %i seconds as "%s"', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
