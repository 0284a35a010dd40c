import { describe, expect, it } from 'vitest';
import { renderDoctor } from '../../functions/cli/doctor-render.ts';
import { type MapOutcome, natStep, type RouterView, routerStep } from '../../functions/cli/doctor-router-steps.ts';
import { addressStep, outsideStep } from '../../functions/cli/doctor-steps.ts';
import type { ListenOutcome } from '../../functions/cli/listen.ts';
import type { RouterFacts, RouterMapping } from '../../functions/cli/router-discovery.ts';
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

const LAN = { source: '192.168.1.20', gateway: '192.168.1.1', device: 'eth0' } as const;
const WAN_SERVICE = {
  serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2',
  controlUrl: 'http://192.168.1.1:5000/ctl/IPConn',
};

/** What a router said, UPnP with `mapping` and the external address `external` (NAT-PMP too). */
function asked(external: string | undefined, mapping?: RouterMapping | null): RouterView {
  const facts: RouterFacts = {
    gateway: '192.168.1.1',
    upnp: {
      service: WAN_SERVICE,
      ...(external === undefined ? {} : { externalAddress: external }),
      ...(mapping === undefined ? {} : { mapping }),
    },
    natPmp: { result: 'success', code: 0, ...(external === undefined ? {} : { externalAddress: external }) },
    pcp: { result: 'success' },
    elapsedMs: 40,
  };
  return { kind: 'asked', facts };
}

const forward = (internalClient: string, internalPort = 8080, enabled = true) => ({
  internalClient,
  internalPort,
  enabled,
  description: 'game',
  leaseSeconds: 0,
});

describe('routerStep', () => {
  it('holds when the router forwards the port to this machine', () => {
    expect(routerStep(TARGET, LAN, asked('81.2.69.160', forward('192.168.1.20')), false)).toEqual({
      step: 'router',
      status: 'ok',
      evidence:
        'The router (UPnP IGD, NAT-PMP and PCP, external address 81.2.69.160) forwards 8080/tcp to 192.168.1.20:8080, this machine.',
    });
  });

  it('is broken when the forward points at another LAN address, naming both', () => {
    const found = routerStep(TARGET, LAN, asked('81.2.69.160', forward('192.168.1.30')), false);
    expect(found.status).toBe('broken');
    expect(found.evidence).toContain(
      'forwards 8080/tcp to 192.168.1.30; this machine is 192.168.1.20 (forward "game")',
    );
    expect(found.advice).toContain('to 192.168.1.20:8080');
  });

  it.each([
    ['another port', forward('192.168.1.20', 9090), /to port 9090 of this machine, not 8080/],
    ['a disabled forward', forward('192.168.1.20', 8080, false), /but it is disabled/],
  ])('is broken for %s', (_, mapping, why) => {
    expect(routerStep(TARGET, LAN, asked('81.2.69.160', mapping), false)).toMatchObject({
      status: 'broken',
      evidence: expect.stringMatching(why),
    });
  });

  it('is broken with no forward, offering --map, unless a NAT in front makes it moot', () => {
    const none = routerStep(TARGET, LAN, asked('81.2.69.160', null), false);
    expect(none).toMatchObject({ status: 'broken', evidence: expect.stringContaining('has no forward for 8080/tcp') });
    expect(none.advice).toContain('`dialback doctor 8080 --map`');
    const moot = routerStep(TARGET, LAN, asked('100.64.0.2', null), true);
    expect(moot).toMatchObject({ status: 'unknown', evidence: expect.stringContaining('would not help yet') });
    expect(moot.advice).toBeUndefined();
  });

  it('is not judged when only NAT-PMP/PCP answered, which cannot list forwards', () => {
    const facts: RouterFacts = {
      gateway: '192.168.1.1',
      natPmp: { result: 'success', code: 0, externalAddress: '81.2.69.160' },
      elapsedMs: 3,
    };
    const found = routerStep({ port: 53, protocol: 'udp' }, LAN, { kind: 'asked', facts }, false);
    expect(found).toMatchObject({
      status: 'unknown',
      evidence: expect.stringMatching(/^The router \(NAT-PMP, external address 81\.2\.69\.160\) did not list/),
    });
    expect(found.advice).toContain('`dialback doctor 53 --udp --map`');
  });

  it('says a silent router is not judged, and where to look in its admin page', () => {
    const silent: RouterView = { kind: 'asked', facts: { gateway: '192.168.1.1', elapsedMs: 2000 } };
    const found = routerStep(TARGET, LAN, silent, false);
    expect(found).toMatchObject({
      status: 'unknown',
      evidence:
        'The gateway 192.168.1.1 answered none of UPnP IGD, NAT-PMP or PCP within 2 s, so the doctor cannot see its forwards.',
    });
    expect(found.advice).toMatch(
      /^Open the router's admin page \(usually http:\/\/192\.168\.1\.1\/\) and look under "Port forwarding".*8080\/tcp must forward to 192\.168\.1\.20\./,
    );
  });

  it('reports what --map did: removed, kept with its lifetime, or refused', () => {
    const held = (removed: boolean | 'kept'): MapOutcome => ({
      kind: 'held',
      via: 'UPnP IGD',
      what: 'forward',
      client: '192.168.1.20',
      lifetimeSeconds: 7200,
      removed,
      removeHow: '`upnpc -d 8080 TCP`',
    });
    expect(routerStep(TARGET, LAN, asked('81.2.69.160', null), false, held(true))).toMatchObject({
      status: 'ok',
      evidence: expect.stringContaining(
        'asked the router (UPnP IGD) to forward 8080/tcp to 192.168.1.20 for the check and removed it after the check.',
      ),
    });
    expect(routerStep(TARGET, LAN, asked('81.2.69.160', null), false, held('kept')).evidence).toContain(
      'kept (--keep); it lapses after 7200 s, or remove it now with `upnpc -d 8080 TCP`',
    );
    expect(routerStep(TARGET, LAN, asked('81.2.69.160', null), false, held(false)).evidence).toContain(
      'could not remove it',
    );
    expect(
      routerStep(TARGET, LAN, asked('81.2.69.160', null), false, {
        kind: 'failed',
        why: 'UPnP AddPortMapping: error 718 ConflictInMappingEntry',
      }),
    ).toMatchObject({
      status: 'broken',
      evidence: expect.stringContaining(
        '--map: the router refused a forward for 8080/tcp: UPnP AddPortMapping: error 718',
      ),
    });
  });

  describe('over IPv6', () => {
    const V6_ROUTE = { source: '2001:db8:1::20', gateway: '2001:db8:1::1', device: 'eth0' };
    const v6Router = (status?: { enabled: boolean; inboundAllowed: boolean }): RouterView => ({
      kind: 'asked',
      facts: {
        gateway: '2001:db8:1::1',
        upnp: {
          service: WAN_SERVICE,
          pinholes: {
            service: { serviceType: 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1', controlUrl: 'http://x/' },
            ...(status === undefined ? {} : { status }),
          },
        },
        elapsedMs: 40,
      },
    });

    it('says a pinhole the doctor opened, and how it was undone', () => {
      const held: MapOutcome = {
        kind: 'held',
        via: 'UPnP IGD',
        what: 'pinhole',
        client: '2001:db8:1::20',
        lifetimeSeconds: 7200,
        removed: 'kept',
        removeHow: '`upnpc -6 -D 3`',
      };
      expect(routerStep(TARGET, V6_ROUTE, v6Router(), false, held)).toMatchObject({
        status: 'ok',
        evidence: expect.stringContaining(
          'asked the router (UPnP IGD) to open an IPv6 pinhole for 8080/tcp to 2001:db8:1::20 for the check and kept (--keep); it lapses after 7200 s, or remove it now with `upnpc -6 -D 3`.',
        ),
      });
    });

    it("names the router's IPv6 firewall as the link, with what it said and why --map could not open it", () => {
      const refused: MapOutcome = { kind: 'failed', why: 'UPnP AddPinhole: error 606 Action not authorized', v6: true };
      const got = routerStep(TARGET, V6_ROUTE, v6Router({ enabled: true, inboundAllowed: false }), false, refused);
      expect(got).toMatchObject({
        status: 'unknown',
        advice: expect.stringContaining("Allow inbound 8080/tcp to 2001:db8:1::20 in the router's IPv6 firewall"),
      });
      expect(got.evidence).toMatch(/^The check went over IPv6, where a router forwards without NAT/);
      expect(got.evidence).toContain('its IPv6 firewall is on and does not let programs open pinholes.');
      expect(got.evidence).toContain(
        '--map: the router refused an IPv6 pinhole for 8080/tcp: UPnP AddPinhole: error 606',
      );
      // A router that did not say its firewall status: nothing invented.
      expect(routerStep(TARGET, V6_ROUTE, v6Router(), false).evidence).not.toContain('firewall is on');
    });
  });

  it('passes on why the router was not asked', () => {
    expect(routerStep(TARGET, LAN, { kind: 'not-asked', status: 'ok', why: 'No router.' }, false)).toEqual({
      step: 'router',
      status: 'ok',
      evidence: 'No router.',
    });
  });
});

describe('natStep', () => {
  it.each([
    ['81.2.69.160', 'ok', /^One NAT: the router's external address is 81\.2\.69\.160/],
    ['100.64.0.2', 'broken', /^Carrier-grade NAT: the router's external address 100\.64\.0\.2 is in 100\.64\.0\.0\/10/],
    ['10.0.0.2', 'broken', /^Double NAT: the router's external address 10\.0\.0\.2 is private/],
    [
      '11.0.0.9',
      'broken',
      /^The router's external address is 11\.0\.0\.9, but the API saw 81\.2\.69\.160: .*VPN or proxy/,
    ],
  ])('with the router outside at %s and the API seeing 81.2.69.160: %s', (external, status, evidence) => {
    const { step: found, broken } = natStep(TARGET, LAN, asked(external), '81.2.69.160');
    expect(found).toMatchObject({ step: 'nat', status, evidence: expect.stringMatching(evidence) });
    expect(broken).toBe(status === 'broken');
    // Each broken layer explains itself in two sentences and offers real options.
    if (status === 'broken') {
      expect(found.evidence.split(/\. (?=[A-Z])/).length).toBe(2);
      expect(found.advice).toBeDefined();
    }
  });

  it("sees no NAT when the API saw this machine's own address", () => {
    expect(natStep(TARGET, { source: '81.2.69.160' }, asked(undefined), '81.2.69.160').step).toMatchObject({
      status: 'ok',
      evidence: "No NAT: the API saw 81.2.69.160, this machine's own address.",
    });
  });

  it('sees no NAT over IPv6, whatever the IPv4 route says', () => {
    const view: RouterView = { kind: 'not-asked', status: 'unknown', why: 'IPv6' };
    expect(natStep(TARGET, LAN, view, '2001:db8:1::20').step).toEqual({
      step: 'nat',
      status: 'ok',
      evidence: "No NAT: the check went over IPv6, and the API saw 2001:db8:1::20, this machine's own IPv6 address.",
    });
  });

  it('sees another NAT in front when the router withholds its external address, as miniupnpd does behind one', () => {
    const facts: RouterFacts = {
      gateway: '192.168.1.1',
      upnp: { service: WAN_SERVICE, externalAddress: '', mapping: null },
      natPmp: { result: 'network failure (it has no external address)', code: 3 },
      elapsedMs: 60,
    };
    const { step: found, broken } = natStep(TARGET, LAN, { kind: 'asked', facts }, '81.2.69.160');
    expect(broken).toBe(true);
    expect(found.evidence).toMatch(
      /^Another NAT is in front of the router: it answers but reports no usable external address \(UPnP: an empty external address; NAT-PMP: network failure \(it has no external address\)\)/,
    );
    expect(found.advice).toContain('100.64.0.0/10');
  });

  it('is not judged when the router gave no external address and withheld none (or the check did not run)', () => {
    const natPmpOnly: RouterFacts = { gateway: '192.168.1.1', pcp: { result: 'success' }, elapsedMs: 3 };
    expect(natStep(TARGET, LAN, { kind: 'asked', facts: natPmpOnly }, '81.2.69.160').step).toMatchObject({
      status: 'unknown',
      advice: expect.stringContaining('WAN (Internet) address'),
    });
    expect(natStep(TARGET, LAN, asked('81.2.69.160'), undefined).step.status).toBe('unknown');
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
