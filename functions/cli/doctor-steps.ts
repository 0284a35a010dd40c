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
import { scopeOf } from './proc-net.ts';
import type { DefaultRoute } from './route.ts';

/** What the doctor is asked about. */
export interface Target {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/** "8080/tcp": the port as every step names it. */
export const label = (t: Target): string => `${t.port}/${t.protocol}`;

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
