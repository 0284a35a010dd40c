/**
 * Where the smoke runner stands: an address the API reports counts as this machine's own only
 * when an interface holds it (however it is spelled), and a run whose verdicts could not be
 * proven never exits 0.
 */
import { describe, expect, it } from 'vitest';
import { type SmokeResult, smokeExitCode } from '../../infra/smoke/smoke.ts';
import { isOwnAddress, ownAddresses } from '../../infra/smoke/vantage.ts';

describe('isOwnAddress', () => {
  const own = ownAddresses();

  it.each(['127.0.0.1', '::ffff:127.0.0.1', '::1', '0:0:0:0:0:0:0:1'])('counts %s as this machine', (address) => {
    expect(isOwnAddress(address, own)).toBe(true);
  });

  it.each([
    '203.0.113.7',
    '2001:db8::7',
    '127.0.0.1:8080',
    'not an address',
    '',
  ])('does not count %j as this machine', (address) => {
    expect(isOwnAddress(address, own)).toBe(false);
  });
});

describe('smokeExitCode', () => {
  const result = (outcome: SmokeResult['outcome']): SmokeResult => ({ name: outcome, outcome, detail: '' });

  it.each([
    [['pass', 'pass'], 0],
    [['pass', 'unproven'], 3],
    [['unproven', 'fail'], 1],
    [['fail', 'pass'], 1],
  ] as const)('%j exits %i', (outcomes, code) => {
    expect(smokeExitCode(outcomes.map(result))).toBe(code);
  });
});
