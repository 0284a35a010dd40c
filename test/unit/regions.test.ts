import { describe, expect, it } from 'vitest';
import {
  type RegionChecks,
  type RegionOutcome,
  regionCell,
  regionDiagnoses,
  regionsExitCode,
  renderRegionsText,
  selectRegions,
  UnknownRegion,
} from '../../functions/contract/regions.ts';
import type { TcpPortResult as PortResult, TcpPortState as PortState } from '../../functions/contract/wire.ts';

const REASON: Record<PortState, PortResult['reason']> = {
  open: 'syn-ack',
  closed: 'conn-refused',
  filtered: 'no-response',
  untestable: 'blocked-at-source',
};

/** A region that answered `states` for ports 22, 80, … in order. */
function answered(name: string, states: Record<number, PortState>): RegionOutcome {
  return {
    region: { name, api: `https://${name}.example` },
    ok: true,
    check: {
      ip: '203.0.113.7',
      family: 4,
      checkedFrom: name,
      timeoutMs: 3000,
      egress: { fixed: false, addresses: [], ipv6: false },
      results: Object.entries(states).map(([port, state]) => ({
        port: Number(port),
        state,
        reason: REASON[state],
        rttMs: state === 'open' ? 20 : null,
      })),
    },
  };
}

function failed(name: string): RegionOutcome {
  return { region: { name, api: `https://${name}.example` }, ok: false, error: { status: 0, message: 'timed out' } };
}

function checks(ports: number[], ...outcomes: RegionOutcome[]): RegionChecks {
  return { ports, outcomes };
}

describe('regionDiagnoses', () => {
  it('says nothing when every region agrees', () => {
    expect(regionDiagnoses(checks([22], answered('a', { 22: 'open' }), answered('b', { 22: 'open' })))).toEqual([]);
  });

  it('names the region that a path blocks, as the issue words it', () => {
    const [note] = regionDiagnoses(
      checks([443], answered('us-east-1', { 443: 'open' }), answered('ap-southeast-1', { 443: 'filtered' })),
    );
    expect(note).toMatch(
      /^443\/tcp open from us-east-1, filtered from ap-southeast-1: something on the path blocks that region/,
    );
  });

  it('groups regions by state and says "those regions" for several', () => {
    const [note] = regionDiagnoses(
      checks([22], answered('a', { 22: 'filtered' }), answered('b', { 22: 'open' }), answered('c', { 22: 'filtered' })),
    );
    expect(note).toMatch(/^22\/tcp open from b, filtered from a and c: something on the path blocks those regions/);
  });

  it.each([
    ['open', 'closed', /something refuses connections from that region/],
    ['closed', 'filtered', /nothing accepts it from anywhere/],
    ['open', 'untestable', /b could not test it \(.*\), so only the other answer counts/],
  ] as const)('explains %s against %s', (first, second, message) => {
    const [note] = regionDiagnoses(checks([80], answered('a', { 80: first }), answered('b', { 80: second })));
    expect(note).toMatch(message);
  });

  it('leaves a region that gave no answer out of the comparison and says so', () => {
    const notes = regionDiagnoses(checks([22], answered('a', { 22: 'open' }), failed('b')));
    expect(notes).toEqual(['b: no answer (timed out); its column says nothing about your ports.']);
  });
});

describe('regionsExitCode', () => {
  it('is 0 when every cell is open, 1 when one is not, 2 when a region gave no answer', () => {
    expect(regionsExitCode(checks([22], answered('a', { 22: 'open' }), answered('b', { 22: 'open' })))).toBe(0);
    expect(regionsExitCode(checks([22], answered('a', { 22: 'open' }), answered('b', { 22: 'closed' })))).toBe(1);
    expect(regionsExitCode(checks([22], answered('a', { 22: 'open' }), failed('b')))).toBe(2);
  });
});

describe('renderRegionsText', () => {
  it('aligns one column per region with an error cell for the region that did not answer', () => {
    const text = renderRegionsText(
      checks([22, 8080], answered('eu-central-1', { 22: 'open', 8080: 'filtered' }), failed('us-east-1')),
    );
    expect(text.split('\n').slice(0, 5)).toEqual([
      'Dialback: 203.0.113.7 checked from 2 regions',
      '',
      'PORT      eu-central-1  us-east-1',
      '22/tcp    open          error',
      '8080/tcp  filtered      error',
    ]);
  });
});

describe('selectRegions', () => {
  const listed = [
    { name: 'a', api: 'https://a.example' },
    { name: 'b', api: 'https://b.example' },
  ];
  it('takes every region for all, or the named ones in the order named', () => {
    expect(selectRegions(listed)).toEqual(listed);
    expect(selectRegions(listed, ['b', 'a'])).toEqual([listed[1], listed[0]]);
  });
  it('refuses a name that is not listed, naming those that are', () => {
    expect(() => selectRegions(listed, ['c'])).toThrow(UnknownRegion);
    expect(() => selectRegions(listed, ['c'])).toThrow('this deployment checks from a, b');
  });
});

describe('regionCell', () => {
  it('reads the TCP result of a port when the check carries a UDP result of the same number', () => {
    const own = answered('a', { 53: 'closed' });
    if (!own.ok) throw new Error('answered() answers');
    const udpFirst: RegionOutcome = {
      ...own,
      check: {
        ...own.check,
        results: [{ port: 53, protocol: 'udp', state: 'open', reason: 'udp-response', rttMs: 4 }, ...own.check.results],
      },
    };
    expect(regionCell(udpFirst, 53)).toBe('closed');
  });
});
