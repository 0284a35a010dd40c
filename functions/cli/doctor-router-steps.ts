/**
 * The doctor's judgements of the router (step 5) and the NAT layers (step 6): what the router
 * said over UPnP IGD, NAT-PMP and PCP (router-discovery.ts), what `--map` did, and the address
 * the API saw, in; a `DoctorStep` out. Pure, like doctor-steps.ts, whose other steps these sit
 * between.
 */
import { classifyAddress } from '../contract/address.ts';
import type { DoctorStep } from '../contract/doctor.ts';
import { label, type Target } from './doctor-steps.ts';
import type { MappingProtocol } from './port-mapping.ts';
import type { DefaultRoute } from './route.ts';
import {
  DISCOVERY_BUDGET_MS,
  type RouterFacts,
  routerExternalAddress,
  routerWithholdsExternal,
} from './router-discovery.ts';

/** Why the doctor did not ask the router, or what it said when asked. */
export type RouterView =
  | { readonly kind: 'not-asked'; readonly status: 'ok' | 'unknown'; readonly why: string; readonly advice?: string }
  | { readonly kind: 'asked'; readonly facts: RouterFacts };

/** What `--map` did: held a forward for the check (and removed or kept it), or could not. */
export type MapOutcome =
  | {
      readonly kind: 'held';
      readonly via: MappingProtocol;
      /** A forward (IPv4, through the NAT) or a pinhole (IPv6, through the router's firewall). */
      readonly what: 'forward' | 'pinhole';
      readonly client: string;
      readonly lifetimeSeconds: number;
      /** `true`: removed after the check; `false`: removal failed; `'kept'`: `--keep`. */
      readonly removed: boolean | 'kept';
      readonly removeHow: string;
    }
  | { readonly kind: 'failed'; readonly why: string; readonly v6?: boolean };

/** The protocols the router answered, in words: "UPnP IGD, NAT-PMP and PCP". */
function spoken(facts: RouterFacts): string {
  const names = [facts.upnp && 'UPnP IGD', facts.natPmp && 'NAT-PMP', facts.pcp && 'PCP'].filter(
    (n): n is string => typeof n === 'string',
  );
  return names.length < 2 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Where a person looks in the router's own pages when the doctor cannot ask it. */
function adminAdvice(t: Target, route: DefaultRoute | undefined): string {
  const gateway = route?.gateway;
  const to = route?.source === undefined ? 'this machine' : route.source;
  return `Open the router's admin page${gateway === undefined ? '' : ` (usually http://${gateway}/)`} and look under "Port forwarding" (also called "Virtual servers" or "NAT"): ${label(t)} must forward to ${to}. Its status page shows the WAN (Internet) address: one in 100.64.0.0/10, 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 means another NAT is in front of it.`;
}

/** How the doctor's own `--map` forward went, as a sentence. */
function mapWords(t: Target, mapped: MapOutcome): string {
  if (mapped.kind === 'failed') {
    const what = mapped.v6 === true ? 'an IPv6 pinhole' : 'a forward';
    return `--map: the router refused ${what} for ${label(t)}: ${mapped.why}.`;
  }
  const after =
    mapped.removed === 'kept'
      ? `kept (--keep); it lapses after ${mapped.lifetimeSeconds} s, or remove it now with ${mapped.removeHow}`
      : mapped.removed
        ? 'removed it after the check'
        : `could not remove it after the check; it lapses after ${mapped.lifetimeSeconds} s, or remove it with ${mapped.removeHow}`;
  const ask = mapped.what === 'pinhole' ? `to open an IPv6 pinhole for ${label(t)} to` : `to forward ${label(t)} to`;
  return `--map: the doctor asked the router (${mapped.via}) ${ask} ${mapped.client} for the check and ${after}.`;
}

/**
 * Step 5: the router. What it forwards the port to, as UPnP lists it, against this machine's
 * address; a router that answered none of the protocols is `?` with where to look by hand.
 * `natBroken`: a NAT in front of the router makes its forward moot, so a missing one is not
 * the first thing to fix.
 */
export function routerStep(
  t: Target,
  route: DefaultRoute | undefined,
  view: RouterView,
  natBroken: boolean,
  mapped?: MapOutcome,
): DoctorStep {
  if (view.kind === 'not-asked') {
    return {
      step: 'router',
      status: view.status,
      evidence: view.why,
      ...(view.advice === undefined ? {} : { advice: view.advice }),
    };
  }
  const { facts } = view;
  const me = route?.source;
  const tail = mapped === undefined ? '' : ` ${mapWords(t, mapped)}`;
  if (mapped?.kind === 'held') {
    return { step: 'router', status: 'ok', evidence: `The router speaks ${spoken(facts)}.${tail}` };
  }
  if (facts.gateway.includes(':')) return pinholeRouterStep(t, facts, route, tail);
  if (spoken(facts) === '') {
    return {
      step: 'router',
      status: 'unknown',
      evidence: `The gateway ${facts.gateway} answered none of UPnP IGD, NAT-PMP or PCP within ${DISCOVERY_BUDGET_MS / 1000} s, so the doctor cannot see its forwards.${tail}`,
      advice: adminAdvice(t, route),
    };
  }
  const external = routerExternalAddress(facts);
  const says = `The router (${spoken(facts)}${external === undefined ? '' : `, external address ${external}`})`;
  const mapping = facts.upnp?.mapping;
  if (mapping === undefined || mapping === null) {
    const listed = mapping === null;
    if (!listed) {
      return {
        step: 'router',
        status: 'unknown',
        evidence: `${says} did not list its forwards (NAT-PMP and PCP cannot), so whether ${label(t)} is forwarded is not known.${tail}`,
        advice: `${adminAdvice(t, route)} Or let the doctor ask the router for a forward: \`dialback doctor ${t.port}${t.protocol === 'udp' ? ' --udp' : ''} --map\`.`,
      };
    }
    if (natBroken) {
      return {
        step: 'router',
        status: 'unknown',
        evidence: `${says} has no forward for ${label(t)}; one would not help yet, because of the NAT in front of it (next step).${tail}`,
      };
    }
    return {
      step: 'router',
      status: 'broken',
      evidence: `${says} has no forward for ${label(t)}.${tail}`,
      advice: `Forward ${label(t)} to ${me ?? 'this machine'} in the router's admin page ("Port forwarding"), or let the doctor ask the router for one: \`dialback doctor ${t.port}${t.protocol === 'udp' ? ' --udp' : ''} --map\`.`,
    };
  }
  const to = `${mapping.internalClient}:${mapping.internalPort}`;
  const wrongHost = me !== undefined && mapping.internalClient !== me;
  const wrongPort = mapping.internalPort !== t.port;
  if (wrongHost || wrongPort || !mapping.enabled) {
    const why = wrongHost
      ? `forwards ${label(t)} to ${mapping.internalClient}; this machine is ${me}`
      : wrongPort
        ? `forwards ${label(t)} to port ${mapping.internalPort} of this machine, not ${t.port}`
        : `has a forward for ${label(t)} to ${to}, but it is disabled`;
    return {
      step: 'router',
      status: 'broken',
      evidence: `${says} ${why}${mapping.description === '' ? '' : ` (forward "${mapping.description}")`}.${tail}`,
      advice: `Change the router's forward for ${label(t)} to ${me ?? 'this machine'}:${t.port}${mapping.enabled ? '' : ' and enable it'} (its admin page, "Port forwarding"), and run the doctor again.`,
    };
  }
  return {
    step: 'router',
    status: 'ok',
    evidence: `${says} forwards ${label(t)} to ${to}, this machine.${tail}`,
  };
}

/**
 * Step 5 over IPv6 when `--map` opened no pinhole: the router's IPv6 firewall is the link to
 * open, with what the router said of it (IGDv2's firewall status) and why `--map` could not.
 * Neither IGDv2 nor PCP lists pinholes by port, so an existing one cannot be seen from here.
 */
function pinholeRouterStep(t: Target, facts: RouterFacts, route: DefaultRoute | undefined, tail: string): DoctorStep {
  const status = facts.upnp?.pinholes?.status;
  const said =
    status === undefined
      ? ''
      : ` The router says its IPv6 firewall is ${status.enabled ? 'on' : 'off'} and ${status.inboundAllowed ? 'lets' : 'does not let'} programs open pinholes.`;
  const words = ipv6FirewallWords(t, route?.source ?? 'this machine');
  return { step: 'router', status: 'unknown', evidence: `${words.why}${said}${tail}`, advice: words.advice };
}

/** Why an IPv6 path stops at the router's firewall, and what to open there for `to`. */
export function ipv6FirewallWords(t: Target, to: string): { why: string; advice: string } {
  return {
    why: "The check went over IPv6, where a router forwards without NAT: if the port is not reachable, the router's IPv6 firewall is the link to open, not a port forward.",
    advice: `Allow inbound ${label(t)} to ${to} in the router's IPv6 firewall (often under "IPv6 firewall", "pinholes" or "allow inbound"), and run the doctor again.`,
  };
}

/** How the router withheld its external address, in its own protocols' words. */
function withheldHow(facts: RouterFacts): string {
  const said = [
    facts.upnp !== undefined && (facts.upnp.externalAddress ?? '') === '' ? 'UPnP: an empty external address' : '',
    facts.natPmp?.externalAddress === undefined && facts.natPmp ? `NAT-PMP: ${facts.natPmp.result}` : '',
  ];
  return said.filter((s) => s !== '').join('; ');
}

/** The NAT layers' verdict: its step, and whether it makes the router's forward moot. */
export function natStep(
  t: Target,
  route: DefaultRoute | undefined,
  view: RouterView,
  seen: string | undefined,
): { step: DoctorStep; broken: boolean } {
  const me = route?.source;
  const done = (step: DoctorStep): { step: DoctorStep; broken: boolean } => ({
    step,
    broken: step.status === 'broken',
  });
  if (seen === undefined) {
    return done({
      step: 'nat',
      status: 'unknown',
      evidence: 'The check from outside did not run, so the address the Internet sees is not known.',
    });
  }
  if (seen.includes(':')) {
    return done({
      step: 'nat',
      status: 'ok',
      evidence: `No NAT: the check went over IPv6, and the API saw ${seen}, this machine's own IPv6 address.`,
    });
  }
  if (me !== undefined && me === seen) {
    return done({ step: 'nat', status: 'ok', evidence: `No NAT: the API saw ${seen}, this machine's own address.` });
  }
  const external = view.kind === 'asked' ? routerExternalAddress(view.facts) : undefined;
  if (view.kind === 'asked' && routerWithholdsExternal(view.facts)) {
    return done({
      step: 'nat',
      status: 'broken',
      evidence: `Another NAT is in front of the router: it answers but reports no usable external address (${withheldHow(view.facts)}), as routers do when their own WAN address is private or in 100.64.0.0/10, and the Internet sees ${seen}. Connections from outside stop at that NAT (the ISP's carrier-grade NAT or a second router) and never reach this router.`,
      advice: `Read the WAN (Internet) address on the router's status page: in 100.64.0.0/10 it is the ISP's carrier-grade NAT (ask the ISP for a public IPv4 address, use IPv6 if it gives it, or use a tunnel); a private one is a second router (put it in bridge or modem mode, or forward ${label(t)} on it to this router too).`,
    });
  }
  if (external === undefined) {
    return done({
      step: 'nat',
      status: 'unknown',
      evidence: `The API saw ${seen}${me === undefined ? '' : `, this machine is ${me}`}; the router did not say its external address, so the NAT layers between them are not known.`,
      advice: `Compare the WAN (Internet) address on the router's status page with ${seen}: equal means one NAT; an address in 100.64.0.0/10 means the ISP's carrier-grade NAT; a private one means a second router in front.`,
    });
  }
  const range = classifyAddress(external)?.range;
  if (external === seen) {
    return done({
      step: 'nat',
      status: 'ok',
      evidence: `One NAT: the router's external address is ${seen}, the address the API saw.`,
    });
  }
  if (range === 'carrierGradeNat') {
    return done({
      step: 'nat',
      status: 'broken',
      evidence: `Carrier-grade NAT: the router's external address ${external} is in 100.64.0.0/10, and the Internet sees ${seen}. The ISP shares ${seen} among many customers, so connections from outside stop at the ISP's NAT and never reach this router.`,
      advice:
        'Ask the ISP for a public IPv4 address (often called a dedicated or static IP), use IPv6 if the ISP gives it, or reach the service through a tunnel (a small server with WireGuard or a reverse SSH tunnel, or a tunnel service).',
    });
  }
  if (range === 'private') {
    return done({
      step: 'nat',
      status: 'broken',
      evidence: `Double NAT: the router's external address ${external} is private, so another router (often the ISP's modem) translates again before the Internet sees ${seen}. A forward on this router alone stops at that one.`,
      advice: `Put the first router (the one holding ${seen}) in bridge or modem mode, or forward ${label(t)} on it to ${external} as well, or put ${external} in its DMZ.`,
    });
  }
  return done({
    step: 'nat',
    status: 'broken',
    evidence: `The router's external address is ${external}, but the API saw ${seen}: the traffic leaves through a VPN or proxy, not through the router's address. Connections to ${seen} reach that VPN or proxy, not this router.`,
    advice: `Run the check outside the VPN or proxy (turn it off or exclude this traffic), or forward the port at the VPN provider if it offers that; connections to ${external} reach the router.`,
  });
}
