/**
 * The doctor's judgements, one function per link of the chain: facts the doctor gathered in,
 * a `DoctorStep` out. Pure, so each rule is tested without sockets; `doctor.ts` gathers the
 * facts and `doctor-render.ts` prints the steps.
 */
import { classifyAddress, isPublicAddress } from '../contract/address.ts';
import type { DoctorStep } from '../contract/doctor.ts';
import { nextStepsOf } from '../contract/verdict-text.ts';
import type { ListenOutcome } from './listen.ts';
import type { FoundListeners } from './listeners.ts';
import type { Listener } from './local-service.ts';
import type { FirewallJudgement } from './nft-judge.ts';
import type { MappingProtocol } from './port-mapping.ts';
import { scopeOf } from './proc-net.ts';
import type { DefaultRoute } from './route.ts';
import {
  DISCOVERY_BUDGET_MS,
  type RouterFacts,
  routerExternalAddress,
  routerWithholdsExternal,
} from './router-discovery.ts';

/** What the doctor is asked about. */
export interface Target {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

const label = (t: Target): string => `${t.port}/${t.protocol}`;

/** "nginx (pid 812)", or "a process the doctor may not see (run as root to name it)". */
function owners(listeners: readonly Listener[]): string {
  const name = (p: NonNullable<Listener['process']>): string =>
    p.name === undefined ? `pid ${p.pid}` : `${p.name} (pid ${p.pid})`;
  const named = [...new Set(listeners.flatMap((l) => (l.process ? [name(l.process)] : [])))];
  return named.length > 0 ? named.join(', ') : 'a process this user may not see (run as root to name it)';
}

function addresses(listeners: readonly Listener[]): string {
  return [...new Set(listeners.map((l) => l.address))].join(', ');
}

/** Step 1: is anything listening on the port, and what? */
export function serviceStep(t: Target, found: FoundListeners | undefined, outcome?: ListenOutcome): DoctorStep {
  if (outcome?.kind === 'checked') {
    return {
      step: 'service',
      status: 'ok',
      evidence: `Nothing listened on ${label(t)}, so the doctor listened on it itself (all addresses) for the check, and stopped when it ended.`,
    };
  }
  if (found === undefined) {
    return {
      step: 'service',
      status: outcome === undefined ? 'unknown' : 'ok',
      evidence:
        outcome === undefined
          ? `The doctor could not read what listens on ${label(t)} on this system.`
          : `Something already listens on ${label(t)} (the doctor could not bind it); this system did not say what.`,
    };
  }
  const { listeners, source } = found;
  if (listeners.length === 0 && outcome === undefined) {
    return {
      step: 'service',
      status: 'unknown',
      evidence: `Nothing listens on ${label(t)} on this machine (read from ${source}); the doctor listens on it itself for the check from outside, which did not run.`,
    };
  }
  if (listeners.length === 0) {
    return {
      step: 'service',
      status: 'unknown',
      evidence: `${label(t)} is in use, but ${source} lists no listener for it here (a container or another network namespace?).`,
      advice: `Find what holds it with \`ss -lnp${t.protocol === 'udp' ? 'u' : 't'} sport = :${t.port}\`.`,
    };
  }
  return {
    step: 'service',
    status: 'ok',
    evidence: `${owners(listeners)} listens on ${label(t)} (read from ${source}).`,
  };
}

/** Step 2: on which addresses it listens; loopback only is a broken link. */
export function bindStep(t: Target, listeners: readonly Listener[] | undefined, outcome?: ListenOutcome): DoctorStep {
  if (outcome?.kind === 'checked') {
    return { step: 'bind', status: 'ok', evidence: "The doctor's own listener was on all addresses (:: and 0.0.0.0)." };
  }
  if (listeners !== undefined && listeners.length === 0 && outcome === undefined) {
    return { step: 'bind', status: 'unknown', evidence: 'Nothing listens, so there is no bind address to judge.' };
  }
  if (listeners === undefined || listeners.length === 0) {
    return {
      step: 'bind',
      status: 'unknown',
      evidence: 'The addresses it listens on could not be read.',
      advice: `Find them with \`ss -lnp${t.protocol === 'udp' ? 'u' : 't'} sport = :${t.port}\` (Linux) or \`lsof -nP -i${t.protocol.toUpperCase()}:${t.port}\` (macOS).`,
    };
  }
  const scopes = new Set(listeners.map((l) => scopeOf(l.address)));
  const where = addresses(listeners);
  if (scopes.has('all')) {
    return { step: 'bind', status: 'ok', evidence: `It listens on all addresses (${where}).` };
  }
  if (scopes.size === 1 && scopes.has('loopback')) {
    return {
      step: 'bind',
      status: 'broken',
      evidence: `It listens on ${where} only: only this machine can reach it.`,
      advice: `Make it listen on all addresses (0.0.0.0 or ::) or on this machine's LAN address (its "bind", "listen" or "host" setting), restart it, and run the doctor again.`,
    };
  }
  const named = [...new Set(listeners.filter((l) => scopeOf(l.address) === 'specific').map((l) => l.address))];
  return {
    step: 'bind',
    status: 'ok',
    evidence: `It listens on ${named.join(', ')} only (${where} in all): reachable through ${named.length > 1 ? 'those addresses' : 'that address'}, not through any other.`,
  };
}

/** How the firewall step ended when the firewall could not be read at all. */
export interface FirewallUnread {
  readonly kind: 'unread';
  readonly why: string;
  /** The command a person runs to read it instead; default `sudo nft list ruleset`. */
  readonly command?: string;
}

/** The command a person runs to read the ruleset themselves. */
const NFT_COMMAND = 'sudo nft list ruleset';

/** Step 3: does the host firewall let a new inbound connection in? */
export function firewallStep(t: Target, judged: FirewallJudgement | FirewallUnread): DoctorStep {
  switch (judged.kind) {
    case 'accepted':
      return { step: 'firewall', status: 'ok', evidence: `nftables accepts new inbound ${label(t)}: ${judged.by}.` };
    case 'dropped':
    case 'rejected':
      return {
        step: 'firewall',
        status: 'broken',
        evidence: `nftables ${judged.kind === 'dropped' ? 'drops' : 'rejects'} new inbound ${label(t)}: ${judged.by}.`,
        advice: `Allow it in the host firewall before that rule, e.g. \`sudo nft insert rule inet filter input ${t.protocol} dport ${t.port} accept\` (or \`sudo ufw allow ${t.port}/${t.protocol}\` where ufw manages it), and run the doctor again.`,
      };
    case 'unknown':
      return {
        step: 'firewall',
        status: 'unknown',
        evidence: `The doctor could not judge nftables for ${label(t)}: ${judged.why}.`,
        advice: `Read the input chains yourself with \`${NFT_COMMAND}\` and look for what happens to ${t.protocol} dport ${t.port}.`,
      };
    case 'unread':
      return {
        step: 'firewall',
        status: 'unknown',
        evidence: `The host firewall could not be read: ${judged.why}.`,
        advice:
          judged.command === undefined
            ? `Run \`${NFT_COMMAND}\` (or the doctor with sudo) and look for what happens to ${t.protocol} dport ${t.port}.`
            : `Read it with \`${judged.command}\` and look for what happens to inbound ${label(t)}.`,
      };
  }
}

/** What an address on the default route means for reaching this machine. */
function addressMeaning(source: string): { status: DoctorStep['status']; words: string; advice?: string } {
  const range = classifyAddress(source)?.range;
  const v6 = source.includes(':');
  if (range === 'unicast') {
    return { status: 'ok', words: v6 ? 'a global IPv6 address' : 'a public address: no NAT on this route' };
  }
  if (range === 'private') return { status: 'ok', words: 'a private address (RFC 1918): a router translates it' };
  if (range === 'uniqueLocal')
    return { status: 'ok', words: 'a unique local IPv6 address (ULA): not routed on the Internet' };
  if (range === 'carrierGradeNat') {
    return {
      status: 'broken',
      words:
        "in 100.64.0.0/10, the carrier-grade NAT range: the ISP's NAT is in front of this machine, and connections from the Internet cannot reach it",
      advice:
        'Ask the ISP for a public IPv4 address (or a port forward on its NAT), use IPv6 if the ISP gives it, or use a tunnel.',
    };
  }
  return { status: 'ok', words: `in the ${range ?? 'unknown'} range` };
}

/** Step 4: this machine's address and gateway on the default route. */
export function addressStep(route: DefaultRoute | undefined): DoctorStep {
  if (route === undefined) {
    return {
      step: 'address',
      status: 'unknown',
      evidence: 'No IPv4 default route was found (`ip -j route get` and /proc/net/route).',
      advice:
        'Check the connection with `ip route` (Linux) or `netstat -rn`: without a default route nothing from the Internet can reach this machine.',
    };
  }
  const via = route.gateway === undefined ? 'with no gateway (a direct link)' : `through gateway ${route.gateway}`;
  const dev = route.device === undefined ? '' : ` on ${route.device}`;
  if (route.source === undefined) {
    return {
      step: 'address',
      status: 'ok',
      evidence: `The default route goes ${via}${dev}; its source address was not read.`,
    };
  }
  const meaning = addressMeaning(route.source);
  return {
    step: 'address',
    status: meaning.status,
    evidence: `This machine sends from ${route.source}${dev} ${via}: ${meaning.words}.`,
    ...(meaning.advice === undefined ? {} : { advice: meaning.advice }),
  };
}

/** Why the doctor did not ask the router, or what it said when asked. */
export type RouterView =
  | { readonly kind: 'not-asked'; readonly status: 'ok' | 'unknown'; readonly why: string }
  | { readonly kind: 'asked'; readonly facts: RouterFacts };

/** What `--map` did: held a forward for the check (and removed or kept it), or could not. */
export type MapOutcome =
  | {
      readonly kind: 'held';
      readonly via: MappingProtocol;
      readonly client: string;
      readonly lifetimeSeconds: number;
      /** `true`: removed after the check; `false`: removal failed; `'kept'`: `--keep`. */
      readonly removed: boolean | 'kept';
      readonly removeHow: string;
    }
  | { readonly kind: 'failed'; readonly why: string };

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
  if (mapped.kind === 'failed') return `--map: the router refused a forward for ${label(t)}: ${mapped.why}.`;
  const after =
    mapped.removed === 'kept'
      ? `kept (--keep); it lapses after ${mapped.lifetimeSeconds} s, or remove it now with ${mapped.removeHow}`
      : mapped.removed
        ? 'removed it after the check'
        : `could not remove it after the check; it lapses after ${mapped.lifetimeSeconds} s, or remove it with ${mapped.removeHow}`;
  return `--map: the doctor asked the router (${mapped.via}) to forward ${label(t)} to ${mapped.client} for the check and ${after}.`;
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
    return { step: 'router', status: view.status, evidence: view.why };
  }
  const { facts } = view;
  const me = route?.source;
  const tail = mapped === undefined ? '' : ` ${mapWords(t, mapped)}`;
  if (mapped?.kind === 'held') {
    return { step: 'router', status: 'ok', evidence: `The router speaks ${spoken(facts)}.${tail}` };
  }
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

/** Step 7: the check from outside, proven when the doctor held the port. */
export function outsideStep(t: Target, outcome: ListenOutcome | undefined, failure?: string): DoctorStep {
  if (outcome === undefined) {
    return {
      step: 'outside',
      status: 'unknown',
      evidence: 'The check from outside could not run.',
      advice: failure ?? 'Run the doctor again.',
    };
  }
  const { check, result } = outcome;
  const view = isPublicAddress(check.ip)
    ? `checked from ${check.checkedFrom} at ${check.ip}`
    : `checked by the API at ${check.ip}, a local view, not the Internet's`;
  const state = `${label(t)} ${result.state} (${result.reason}), ${view}`;
  if (outcome.kind === 'checked' && outcome.verified && (result.state === 'open' || t.protocol === 'udp')) {
    return {
      step: 'outside',
      status: 'ok',
      evidence: `${state}; the doctor's listener received its one-time token, so this machine answered.`,
    };
  }
  if (outcome.kind === 'checked' && result.state === 'open') {
    return {
      step: 'outside',
      status: 'broken',
      evidence: `${state}, but the doctor's listener never received its token: something else answered (the router, another host, a proxy).`,
      advice: "Point the router's forward for this port at this machine's address.",
    };
  }
  if (result.state === 'open') {
    return {
      step: 'outside',
      status: 'unknown',
      evidence: `${state}; a program here holds the port, so the doctor could not prove the answer came from this machine.`,
      advice: `Stop the program on ${label(t)} for a moment and run the doctor again: it will listen on the port itself and prove the path.`,
    };
  }
  const steps = nextStepsOf(result).map((s) => s.replaceAll('`', ''));
  return { step: 'outside', status: 'broken', evidence: `${state}.`, ...(steps[0] ? { advice: steps[0] } : {}) };
}
