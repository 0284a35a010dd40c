import { describe, expect, it } from 'vitest';
import { renderDoctor } from '../../functions/cli/doctor-render.ts';
import { addressStep, outsideStep, routerSteps } from '../../functions/cli/doctor-steps.ts';
import type { ListenOutcome } from '../../functions/cli/listen.ts';
import { type DoctorStep, doctorExitCode, doctorVerdict } from '../../functions/contract/doctor.ts';
import type { CheckResponse, TcpPortResult } from '../../functions/contract/wire.ts';

const TARGET = { port: 8080, protocol: 'tcp' } as const;

function checked(
  state: TcpPortResult['state'],
  verified: boolean,
  kind: ListenOutcome['kind'] = 'checked',
): ListenOutcome {
  const result: TcpPortResult = {
    port: 8080,
    state,
    reason: state === 'open' ? 'syn-ack' : 'no-response',
    rttMs: null,
  };
  const check: CheckResponse = {
    ip: '81.2.69.160',
    family: 4,
    checkedFrom: 'eu-central-1',
    timeoutMs: 3000,
    egress: { fixed: false, addresses: [], ipv6: false },
    results: [result],
  };
  return kind === 'checked' ? { kind, check, result, verified } : { kind, check, result };
}

const step = (name: DoctorStep['step'], status: DoctorStep['status'], advice?: string): DoctorStep => ({
  step: name,
  status,
  evidence: `${name} ${status}`,
  ...(advice === undefined ? {} : { advice }),
});

describe('doctorVerdict', () => {
  it('names the first broken link and its advice', () => {
    const verdict = doctorVerdict(
      [step('service', 'ok'), step('bind', 'broken', 'listen on all'), step('outside', 'broken', 'forward it')],
      false,
    );
    expect(verdict).toEqual({ status: 'broken', step: 'bind', next: 'listen on all' });
    expect(doctorExitCode(verdict)).toBe(1);
  });

  it('blames the first link it could not judge when only the outside check failed', () => {
    const verdict = doctorVerdict(
      [
        step('firewall', 'unknown', 'read nft'),
        step('router', 'unknown', 'check the forward'),
        step('outside', 'broken', 'x'),
      ],
      false,
    );
    expect(verdict).toEqual({ status: 'broken', step: 'firewall', next: 'read nft' });
  });

  it('is open (exit 0) only when the outside step held', () => {
    const verdict = doctorVerdict([step('router', 'unknown', 'check'), step('outside', 'ok')], false);
    expect(verdict.status).toBe('open');
    expect(doctorExitCode(verdict)).toBe(0);
  });

  it('is unproven (exit 1) when nothing broke but outside was not proven, and failed (exit 2) when it never ran', () => {
    const unproven = doctorVerdict([step('outside', 'unknown', 'stop it and run again')], false);
    expect(unproven).toEqual({ status: 'unproven', step: 'outside', next: 'stop it and run again' });
    expect(doctorExitCode(unproven)).toBe(1);
    const failed = doctorVerdict([step('outside', 'unknown', 'start the server')], true);
    expect(failed.status).toBe('failed');
    expect(doctorExitCode(failed)).toBe(2);
  });
});

describe('addressStep', () => {
  it.each([
    ['81.2.69.160', 'ok', /public address: no NAT/],
    ['192.168.1.20', 'ok', /private address \(RFC 1918\)/],
    ['100.64.3.4', 'broken', /carrier-grade NAT range/],
    ['fd00::20', 'ok', /unique local IPv6/],
    ['2001:4860::20', 'ok', /global IPv6/],
  ])('classifies %s as the service does', (source, status, words) => {
    const found = addressStep({ source, gateway: '192.168.1.1', device: 'eth0' });
    expect(found.status).toBe(status);
    expect(found.evidence).toMatch(words);
    expect(found.evidence).toContain('through gateway 192.168.1.1');
  });

  it('says when there is no default route', () => {
    expect(addressStep(undefined)).toMatchObject({ status: 'unknown', advice: expect.stringContaining('ip route') });
  });
});

describe('routerSteps', () => {
  it('say plainly that router discovery is not built, with what to check by hand', () => {
    const [router, nat] = routerSteps(TARGET, { source: '192.168.1.20', gateway: '192.168.1.1' }, '81.2.69.160');
    expect(router).toMatchObject({ status: 'unknown', evidence: expect.stringContaining('not built yet') });
    expect(router?.advice).toBe(
      "Open the router's admin page (usually http://192.168.1.1/) and check that 8080/tcp is forwarded to 192.168.1.20.",
    );
    expect(nat).toMatchObject({ status: 'unknown', evidence: expect.stringContaining('the API saw 81.2.69.160') });
  });

  it('see no NAT when the API saw this machine its own public address', () => {
    const steps = routerSteps(TARGET, { source: '81.2.69.160' }, '81.2.69.160');
    expect(steps.map((s) => s.status)).toEqual(['ok', 'ok']);
  });
});

describe('outsideStep', () => {
  it('holds only when the token arrived', () => {
    expect(outsideStep(TARGET, checked('open', true)).status).toBe('ok');
  });

  it('is broken when something other than this machine answered', () => {
    expect(outsideStep(TARGET, checked('open', false))).toMatchObject({
      status: 'broken',
      evidence: expect.stringContaining('something else answered'),
    });
  });

  it('is not proven when a program here holds the port', () => {
    expect(outsideStep(TARGET, checked('open', false, 'in-use'))).toMatchObject({ status: 'unknown' });
  });

  it('is broken with the verdict advice when the port is filtered', () => {
    const found = outsideStep(TARGET, checked('filtered', false));
    expect(found).toMatchObject({
      status: 'broken',
      evidence: expect.stringMatching(/^8080\/tcp filtered \(no-response\), checked from eu-central-1/),
    });
    expect(found.advice).toBeDefined();
  });
});

describe('renderDoctor', () => {
  it('prints one line per step with its mark, then the verdict and the next step', () => {
    const steps = [step('service', 'ok'), step('bind', 'broken', 'Listen on 0.0.0.0.'), step('router', 'unknown')];
    const text = renderDoctor({ port: 8080, protocol: 'tcp', steps, verdict: doctorVerdict(steps, false) }, false);
    expect(text).toBe(
      [
        'dialback doctor 8080/tcp',
        '',
        '✔ Service              service ok',
        '✘ Bind address         bind broken',
        '? Router               router unknown',
        '',
        'Broken at: bind address.',
        'Next step: Listen on 0.0.0.0.',
        '',
      ].join('\n'),
    );
  });
});
