/**
 * The words each verdict is explained with. Checked by what must stay true however the wording
 * changes: every state and reason has a meaning and next steps, and the texts for specific
 * cases carry the facts a person needs (which port, which family, what to change).
 */
import { describe, expect, it } from 'vitest';
import {
  CGNAT_EXPLAINED,
  CHECK_LIMITS,
  familyDifference,
  nextStepsFor,
  REASON_MEANING,
  STATE_MEANING,
  STATE_NEXT_STEPS,
} from '../../functions/contract/verdict-text.ts';
import {
  PORT_REASONS,
  type TcpPortReason as PortReason,
  type TcpPortState as PortState,
} from '../../functions/contract/wire.ts';

/** The wire contract's TCP states and reasons (UDP's have texts of their own, UDP_STATE_MEANING). */
const TCP_STATES = ['open', 'closed', 'filtered', 'untestable'] as const satisfies readonly PortState[];
const UDP_ONLY_REASONS: readonly string[] = ['udp-response', 'port-unreach'];
const TCP_REASONS = PORT_REASONS.filter((r): r is PortReason => !UDP_ONLY_REASONS.includes(r));

/** What a person is told to do for each state, over the reasons it comes with. */
const REASONS_OF: Readonly<Record<PortState, readonly PortReason[]>> = {
  open: ['syn-ack'],
  closed: ['conn-refused'],
  filtered: ['no-response', 'host-unreach', 'admin-prohibited'],
  untestable: ['blocked-at-source', 'no-ipv6-egress'],
};
const stepsOf = (state: PortState): string[] => REASONS_OF[state].flatMap((reason) => nextStepsFor({ state, reason }));

describe('state and reason texts', () => {
  it.each(TCP_STATES)('%s has a meaning and next steps, the meaning naming the state', (state) => {
    expect(STATE_MEANING[state].toLowerCase()).toContain(state);
    const steps = stepsOf(state);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(step.trim().length).toBeGreaterThan(20);
  });

  it('has texts for exactly the TCP states and reasons of the wire contract', () => {
    expect(Object.keys(STATE_MEANING).sort()).toEqual([...TCP_STATES].sort());
    expect(Object.keys(STATE_NEXT_STEPS).sort()).toEqual([...TCP_STATES].sort());
    expect(Object.keys(REASON_MEANING).sort()).toEqual([...TCP_REASONS].sort());
  });

  it.each(TCP_REASONS)('%s has a meaning of its own', (reason) => {
    expect(REASON_MEANING[reason].trim().length).toBeGreaterThan(10);
    const others = TCP_REASONS.filter((r) => r !== reason).map((r) => REASON_MEANING[r]);
    expect(others).not.toContain(REASON_MEANING[reason]);
  });

  it('gives every state a different meaning and first step', () => {
    expect(new Set(TCP_STATES.map((s) => STATE_MEANING[s])).size).toBe(TCP_STATES.length);
    expect(new Set(TCP_STATES.map((s) => stepsOf(s)[0])).size).toBe(TCP_STATES.length);
  });

  const facts: [PortState, RegExp[]][] = [
    ['open', [/reachable/i]],
    ['closed', [/listen/i, /firewall/i, /0\.0\.0\.0/, /127\.0\.0\.1|localhost/]],
    ['filtered', [/firewall/i, /forward/i, /carrier-grade NAT/i, /again/i]],
    ['untestable', [/25/, /IPv6/]],
  ];
  it.each(facts)('%s: the meaning and steps carry the key facts', (state, patterns) => {
    const all = [STATE_MEANING[state], ...REASONS_OF[state].map((r) => REASON_MEANING[r]), ...stepsOf(state)].join(
      '\n',
    );
    for (const pattern of patterns) expect(all).toMatch(pattern);
  });

  it('says closed and filtered apart: an answer versus none', () => {
    expect(STATE_MEANING.closed).toMatch(/answered/);
    expect(STATE_MEANING.filtered).toMatch(/nothing answered/);
  });

  it('tells open-by-mistake how to close it', () => {
    expect(STATE_NEXT_STEPS.open.join('\n')).toMatch(/should not be public/);
  });

  const reasonFacts: [PortReason, RegExp][] = [
    ['syn-ack', /handshake/],
    ['conn-refused', /refused/],
    ['no-response', /no reply/],
    ['host-unreach', /host is unreachable/],
    ['net-unreach', /network is unreachable/],
    ['admin-prohibited', /administratively prohibited/],
    ['proto-unreach', /protocol/],
    ['dest-unreach', /destination/],
    ['blocked-at-source', /checker itself/],
    ['no-ipv6-egress', /IPv6/],
  ];
  it.each(reasonFacts)('%s says what happened', (reason, pattern) => {
    expect(REASON_MEANING[reason]).toMatch(pattern);
  });

  it('explains carrier-grade NAT with the way to tell and what to ask for', () => {
    expect(CGNAT_EXPLAINED).toMatch(/carrier-grade NAT/i);
    expect(CGNAT_EXPLAINED).toMatch(/100\.64/);
    expect(CGNAT_EXPLAINED).toMatch(/WAN/);
    expect(CGNAT_EXPLAINED).toMatch(/public IPv4/);
    expect(CGNAT_EXPLAINED).toMatch(/IPv6/);
    // What it is, why no forward helps, and how to tell: each its own fact.
    expect(CGNAT_EXPLAINED).toMatch(/share one public address/);
    expect(CGNAT_EXPLAINED).toMatch(/no port forward/);
    expect(CGNAT_EXPLAINED).toMatch(/status page/);
  });

  it("states the limits of one check: UDP's silence, loss versus firewall", () => {
    expect(CHECK_LIMITS).toMatch(/UDP/);
    expect(CHECK_LIMITS).toMatch(/open\|filtered/);
    expect(CHECK_LIMITS).toMatch(/listen --udp/);
    expect(CHECK_LIMITS).toMatch(/packet loss/);
    expect(CHECK_LIMITS).toMatch(/check again/);
  });
});

describe('familyDifference', () => {
  const at = (state: PortState, reason: PortReason) => ({ state, reason });
  const OPEN = at('open', 'syn-ack');
  const CLOSED = at('closed', 'conn-refused');
  const FILTERED = at('filtered', 'no-response');

  it('says nothing when state and reason agree', () => {
    for (const result of [OPEN, CLOSED, FILTERED]) expect(familyDifference(80, result, result)).toBeUndefined();
  });

  it('names the port and both states whenever they differ', () => {
    const pairs = [
      [OPEN, FILTERED],
      [OPEN, CLOSED],
      [FILTERED, OPEN],
      [CLOSED, OPEN],
      [CLOSED, FILTERED],
      [FILTERED, CLOSED],
    ] as const;
    for (const [v4, v6] of pairs) {
      const text = familyDifference(8080, v4, v6);
      expect(text?.startsWith(`8080/tcp ${v4.state} over IPv4, ${v6.state} over IPv6`)).toBe(true);
      expect(text?.endsWith('.')).toBe(true);
    }
  });

  it('tells a different reason for the same state apart', () => {
    expect(familyDifference(22, CLOSED, at('closed', 'admin-prohibited'))).toBe(
      '22/tcp closed over IPv4, closed over IPv6.',
    );
  });

  it('open over IPv4 only: the IPv6 firewall, or the service not listening on IPv6', () => {
    expect(familyDifference(443, OPEN, FILTERED)).toMatch(/IPv6 firewall/);
    expect(familyDifference(443, OPEN, FILTERED)).not.toMatch(/listen/);
    const closed = familyDifference(443, OPEN, CLOSED);
    expect(closed).toMatch(/listen on ::/);
    expect(closed).not.toMatch(/IPv6 firewall blocks/);
  });

  it('open over IPv6 only: the IPv4 forward, or what it points at', () => {
    const filtered = familyDifference(25565, FILTERED, OPEN);
    expect(filtered).toMatch(/forward the port/);
    expect(filtered).toMatch(/carrier-grade NAT/);
    const closed = familyDifference(25565, CLOSED, OPEN);
    expect(closed).toMatch(/nothing listening/);
    expect(closed).not.toMatch(/carrier-grade NAT/);
  });

  it('says only IPv4 was tested when the deployment cannot dial IPv6, whatever IPv4 read', () => {
    for (const v4 of [OPEN, CLOSED, FILTERED]) {
      const text = familyDifference(22, v4, at('untestable', 'no-ipv6-egress'));
      expect(text).toMatch(/cannot dial IPv6, so only IPv4 was tested/);
    }
  });

  it('reports different states even when the reason is the same', () => {
    expect(familyDifference(80, at('closed', 'dest-unreach'), at('filtered', 'dest-unreach'))).toBe(
      '80/tcp closed over IPv4, filtered over IPv6.',
    );
  });

  it('adds no advice when one family is open and the other untestable from here', () => {
    expect(familyDifference(25, OPEN, at('untestable', 'blocked-at-source'))).toBe(
      '25/tcp open over IPv4, untestable over IPv6.',
    );
  });

  it('adds no advice when neither family is open', () => {
    expect(familyDifference(80, CLOSED, FILTERED)).toBe('80/tcp closed over IPv4, filtered over IPv6.');
    expect(familyDifference(80, FILTERED, CLOSED)).toBe('80/tcp filtered over IPv4, closed over IPv6.');
    expect(familyDifference(80, at('untestable', 'blocked-at-source'), OPEN)).toBe(
      '80/tcp untestable over IPv4, open over IPv6.',
    );
  });
});
