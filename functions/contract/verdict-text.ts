/**
 * What each verdict means for a person and what to do next, in one place for the text output,
 * the page, the widget and the CLI. Written for someone who runs a game server or a home NAS,
 * not for network engineers: plain words, one concrete step per line.
 */
import {
  type PortHint,
  type TcpPortReason as PortReason,
  type TcpPortResult as PortResult,
  type TcpPortState as PortState,
  protocolOf,
  type UdpPortReason,
  type UdpPortResult,
  type UdpPortState,
} from './wire.ts';

/** One line per state: what it means. */
export const STATE_MEANING: Readonly<Record<PortState, string>> = {
  open: 'open: a service accepted the connection; it is reachable from where this check ran.',
  closed:
    'closed: your address answered, but nothing accepted the connection: no service is listening, or a firewall rejects it (nmap -sT says "closed" too).',
  filtered:
    'filtered: nothing answered in time (a firewall dropping it, a router without a forward, or an ISP block); one check cannot tell loss from a firewall.',
  untestable: 'untestable: this checker cannot test the port from where it runs, so nothing was tried.',
};

/** Reasons whose meaning is not the state's usual one, said for that reason alone. */
const REASON_SPECIFIC_MEANING: Readonly<Partial<Record<PortReason, string>>> = {
  'blocked-at-source':
    'untestable: the cloud provider blocks outbound connections to this port (port 25, against spam), so this checker cannot test it.',
  'no-ipv6-egress':
    'untestable: you called over IPv6 and this deployment cannot send IPv6 at all, so nothing was tried (and nothing counted).',
  'host-unreach': 'filtered: a router or firewall on the way answered that your host cannot be reached.',
  'net-unreach': 'filtered: a router on the way answered that your network cannot be reached.',
  'admin-prohibited': 'filtered: a firewall on the way answered that the connection is administratively prohibited.',
  'proto-unreach': 'filtered: something on the way answered that the protocol is unreachable.',
  'dest-unreach': 'filtered: something on the way answered that the destination is unreachable.',
};

/**
 * What one result means, for this result's reason: "untestable" for port 25 says nothing about
 * IPv6, and a filtered port that a router refused does not say "nothing answered".
 */
export function resultMeaning(result: Pick<PortResult, 'state' | 'reason'>): string {
  return REASON_SPECIFIC_MEANING[result.reason] ?? STATE_MEANING[result.state];
}

/** The same without its leading "state: ", for places where the state is already shown. */
export function resultExplanation(result: Pick<PortResult, 'state' | 'reason'>): string {
  const text = resultMeaning(result).slice(result.state.length + 2);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What the reason adds to the state, in words. */
export const REASON_MEANING: Readonly<Record<PortReason, string>> = {
  'syn-ack': 'the handshake completed',
  'conn-refused': 'the connection was refused (a TCP reset, or an ICMP port-unreachable from a rejecting firewall)',
  'no-response': 'no reply arrived before the deadline, after retries',
  'host-unreach': 'a router or firewall answered that your host is unreachable',
  'net-unreach': 'a router answered that your network is unreachable',
  'admin-prohibited': 'a firewall answered that the connection is administratively prohibited',
  'proto-unreach': 'the path answered that the protocol is unreachable',
  'dest-unreach': 'the path answered that the destination is unreachable',
  'blocked-at-source': 'the checker itself may not send to this port',
  'no-ipv6-egress': 'this deployment cannot send IPv6 at all, so nothing was tried (and nothing counted)',
};

/**
 * What a hint on a verdict means and what to do about it. `icmp-rate-limit` goes on a port that
 * read filtered while the same address was refusing other ports of the check with ICMP errors,
 * which hosts send only a few per second.
 */
export const HINT_TEXT: Readonly<Record<PortHint, string>> = {
  'icmp-rate-limit':
    'Your address refused other ports of this check with ICMP errors, and hosts send those only a few per second; ' +
    'this port may have been refused too, with no error left to send. Check this port again on its own.',
};

/** One line per hinted port of a check, e.g. for the text table; empty when none has a hint. */
export function hintLines(results: readonly (PortResult | UdpPortResult)[]): string[] {
  // Only TCP results carry a hint: the UDP probe has no rate-limit rounds.
  return results.flatMap((r) => ('hint' in r && r.hint !== undefined ? [`${r.port}/tcp: ${HINT_TEXT[r.hint]}`] : []));
}

/**
 * Why inbound connections often cannot reach home connections at all: carrier-grade NAT,
 * explained so that a non-expert can tell whether it is theirs.
 */
export const CGNAT_EXPLAINED =
  'Carrier-grade NAT: some ISPs (often mobile, fibre and satellite ones) share one public address among many customers. ' +
  "Then no port forward on your own router can work, because the ISP's router in front of it drops the connection first. " +
  "To tell: open your router's status page and compare its WAN (Internet) address with the address shown here. " +
  'If they differ, or the WAN address starts with 100.64 to 100.127, or is a private one (10.x, 172.16–31.x, 192.168.x), you are behind carrier-grade NAT. ' +
  'Ask your ISP for a public IPv4 address (some call it a "static" or "dedicated" IP, or switch it off on request), or use IPv6 if your ISP gives you one.';

/** The next step that tells carrier-grade NAT apart, complete in itself (TCP and UDP advice alike). */
const CGNAT_STEP =
  "If your router's status page shows a WAN (Internet) address different from the one checked here, or one starting with 100.64 to 100.127, you are behind carrier-grade NAT: no forward can work; ask your ISP for a public IPv4 address, or use IPv6.";

/** The limits of any single check, said honestly. */
export const CHECK_LIMITS =
  'A UDP service may stay silent to a stranger (WireGuard always does), so a UDP port can read "open|filtered": `dialback listen --udp PORT` settles it. ' +
  'One check cannot tell packet loss from a firewall that drops silently: each port is tried several times, ' +
  'but if "filtered" surprises you, check again in a minute.';

/**
 * The first thing worth trying per state: the first of each list below, and all the widget
 * shows (so it carries one sentence per state, not every list).
 */
// Plain constants, not properties read off an object: esbuild can then drop the lists below
// from the widget, which uses only these.
const FIRST_OPEN = 'Nothing to fix: the service is reachable from where this check ran.';
const FIRST_CLOSED =
  'Make sure the service is running and listens on all interfaces (0.0.0.0 or ::), not only on 127.0.0.1 or localhost: `ss -ltn` (Linux) or `netstat -an` (Windows, macOS) shows the address it listens on.';
const FIRST_FILTERED =
  "Add or fix the port forward in your router: external port → the machine's LAN address and the same port, TCP.";
const FIRST_STEP: Readonly<Partial<Record<PortState, string>>> = {
  open: FIRST_OPEN,
  closed: FIRST_CLOSED,
  filtered: FIRST_FILTERED,
};

/** What to try next, in the order worth trying, per state. */
export const STATE_NEXT_STEPS: Readonly<Record<PortState, readonly string[]>> = {
  open: [
    FIRST_OPEN,
    'If it should not be public, close it now: stop the service, or block the port in your firewall or router.',
  ],
  closed: [
    FIRST_CLOSED,
    'Check the host firewall on the machine itself (ufw, firewalld, nftables, Windows Defender Firewall): it may reject the port.',
    "Behind a home router, the forward must point at the right LAN address: the machine's current address (e.g. 192.168.1.20), which can change unless you reserve it in the router's DHCP settings.",
  ],
  filtered: [
    FIRST_FILTERED,
    'Check the host firewall on the machine (ufw, firewalld, nftables, Windows Defender Firewall): it may drop the port silently.',
    'Some ISPs block common server ports (25, 80, 445, sometimes 443) on home lines; try a higher port, or ask your ISP.',
    CGNAT_STEP,
    'A single lost packet can look like this: if it surprises you, check again in a minute.',
  ],
  untestable: [],
};

const REASON_NEXT_STEPS: Readonly<Partial<Record<PortReason, readonly string[]>>> = {
  'blocked-at-source': [
    "Cloud providers block outbound mail connections (port 25) to stop spam, so this checker cannot test it: test it from another network, e.g. a friend's connection or a small server elsewhere.",
  ],
  'no-ipv6-egress': [
    'Check over IPv4 instead (`curl -4`, or `dialback -4`), or use a deployment that can send IPv6 (VPC mode).',
  ],
  'host-unreach': [
    "A router or firewall refused the connection instead of passing it on: check the router's firewall and port-forward rules and the host firewall (it may reject with an ICMP error).",
  ],
  'net-unreach': [
    "A router on the way has no route to your network: if this is a new address, wait a few minutes and check again; otherwise check the router's firewall rules.",
  ],
  'admin-prohibited': [
    "A firewall rejects the port on purpose (firewalld and many routers reject IPv6 this way): allow the port in the host firewall and the router's IPv6 firewall.",
  ],
};

/** The first thing to try for one result (the widget's advice); `undefined` when there is none. */
export function firstStepFor(result: Pick<PortResult, 'state' | 'reason'>): string | undefined {
  const steps = REASON_NEXT_STEPS[result.reason];
  return steps === undefined ? FIRST_STEP[result.state] : steps[0];
}

/** What to try next for one result, in the order worth trying; empty for nothing to do. */
export function nextStepsFor(result: Pick<PortResult, 'state' | 'reason'>): readonly string[] {
  return REASON_NEXT_STEPS[result.reason] ?? STATE_NEXT_STEPS[result.state];
}

/**
 * A duration for people: "45 s", "12 min", "2 h 26 min". Seconds are dropped beyond an hour,
 * where nobody counts them.
 */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.ceil(totalSeconds));
  if (s < 60) return `${s} s`;
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (hours > 0) return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
  const seconds = s % 60;
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

/**
 * Said whenever the checked address is not a public one (the local server on loopback or a
 * LAN): the answer is what this machine or network sees of itself, not the Internet's view.
 */
export function localViewNotice(address: string, publicUrl: string | undefined): string {
  const where =
    publicUrl === undefined
      ? 'To check from the Internet, deploy Dialback to your AWS account (`npm run deploy`, see the README) and check against its URL.'
      : `To check from the Internet, use ${publicUrl}.`;
  return `This is a local check: ${address} is not a public address, so this shows what this machine or network sees, not a view from the Internet. ${where}`;
}

/**
 * What it means when one port reads differently over IPv4 and IPv6 (`dialback --both`).
 * `undefined` when both families agree.
 */
export function familyDifference(
  port: number,
  v4: Pick<PortResult | UdpPortResult, 'state' | 'reason'>,
  v6: Pick<PortResult | UdpPortResult, 'state' | 'reason'>,
  protocol: 'tcp' | 'udp' = 'tcp',
): string | undefined {
  if (v4.state === v6.state && v4.reason === v6.reason) return undefined;
  const head = `${port}/${protocol} ${v4.state} over IPv4, ${v6.state} over IPv6`;
  if (v6.reason === 'no-ipv6-egress') return `${head}: this deployment cannot dial IPv6, so only IPv4 was tested.`;
  if (v4.state === 'open' && v6.state === 'filtered') {
    return `${head}: your IPv6 firewall blocks it. IPv6 has no NAT or port forward; allow the port to this device in the router's IPv6 firewall.`;
  }
  if (v4.state === 'open' && v6.state === 'closed') {
    return `${head}: the service does not listen on IPv6 (make it listen on :: as well as 0.0.0.0), or the host firewall rejects IPv6.`;
  }
  if (v6.state === 'open' && v4.state === 'filtered') {
    return `${head}: IPv4 is blocked before it reaches you: forward the port on your router, and check for carrier-grade NAT.`;
  }
  if (v6.state === 'open' && v4.state === 'closed') {
    return `${head}: over IPv4 the router's forward points at a device with nothing listening, or a firewall rejects it.`;
  }
  return `${head}.`;
}

/*
 * The UDP tables below are written out in full rather than borrowing TCP's entries: a property
 * read at module level counts as a side effect to esbuild, which would then keep every table
 * in the widget's bundle (measured: it doubled).
 */

/** One line per UDP state: what it means. UDP has no handshake, so the words differ from TCP's. */
export const UDP_STATE_MEANING: Readonly<Record<UdpPortState, string>> = {
  open: 'open: a UDP service answered; it is reachable from where this check ran.',
  closed:
    'closed: your address answered with ICMP port-unreachable: nothing listens on that UDP port, or a firewall rejects it (nmap -sU says "closed" too).',
  filtered:
    'filtered: a firewall or router answered that the port is prohibited (an ICMP error other than port-unreachable).',
  'open|filtered':
    'open|filtered: nothing answered, after every retry. A UDP service stays silent to a packet it does not understand (WireGuard always does), so this is a silent service or a firewall that drops; nmap -sU cannot tell either. `dialback listen --udp PORT` settles it.',
  untestable:
    'untestable: this checker cannot send to it: the cloud provider blocks the port, or this deployment has no IPv6 egress (try over IPv4).',
};

/** What a UDP reason adds to the state, in words. */
export const UDP_REASON_MEANING: Readonly<Record<UdpPortReason, string>> = {
  'udp-response': 'a UDP datagram came back from the port',
  'port-unreach': 'your address answered with ICMP port-unreachable',
  'admin-prohibited': 'a firewall answered with ICMP administratively prohibited',
  'net-unreach': 'a router answered with ICMP network-unreachable',
  'proto-unreach': 'your address answered with ICMP protocol-unreachable',
  'dest-unreach': 'the path answered with another ICMP destination-unreachable',
  'no-response': 'no datagram and no ICMP error came back, after retries',
  'blocked-at-source': 'the checker may not send to this port, so nothing was sent',
  'no-ipv6-egress': 'this deployment cannot send IPv6, so nothing was sent (and nothing counted)',
};

/** What to try next for a UDP port, per state. */
export const UDP_NEXT_STEPS: Readonly<Record<UdpPortState, readonly string[]>> = {
  open: [
    'Nothing to fix: the UDP service is reachable from where this check ran.',
    'If it should not be public, stop the service or block the port in your firewall or router.',
  ],
  closed: [
    'Make sure the service is running and listens on all interfaces (0.0.0.0 or ::): `ss -lun` (Linux) or `netstat -an -p udp` shows the address it listens on.',
    'Check the host firewall on the machine itself: a `reject` rule reads the same as nothing listening.',
    "Behind a home router, the forward must point at the machine's current LAN address, for UDP (not only TCP).",
  ],
  filtered: [
    'A firewall answered that the port is prohibited: allow the UDP port in the host firewall (ufw, firewalld, nftables, Windows Defender Firewall) or the router.',
  ],
  'open|filtered': [
    'Many UDP services never answer a stranger (WireGuard, most VPNs and some game servers): for them this is the best any outside check can say.',
    'To settle it, run `dialback listen --udp PORT` on the machine while the service is stopped: it proves whether a datagram from where the check runs reaches this machine.',
    "If nothing arrives: add or fix the router's port forward for UDP (external port → the machine's LAN address and the same port), and allow the UDP port in the host firewall.",
    CGNAT_STEP,
  ],
  untestable: [
    'Over IPv6 on a deployment without IPv6 egress: check over IPv4 instead, or use a deployment that can send IPv6.',
    'A port the cloud provider blocks: test it from another network.',
  ],
};

/** The meaning line of a result, in its protocol's words (TCP's says what its reason adds). */
export function meaningOf(result: PortResult | UdpPortResult): string {
  return 'protocol' in result ? UDP_STATE_MEANING[result.state] : resultMeaning(result);
}

/** The meaning without its leading "state: ", for places where the state is already shown. */
export function explanationOf(result: PortResult | UdpPortResult): string {
  if (!('protocol' in result)) return resultExplanation(result);
  const text = UDP_STATE_MEANING[result.state].slice(result.state.length + 2);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** What a result's reason means, in its protocol's words. */
export function reasonMeaningOf(result: PortResult | UdpPortResult): string {
  return 'protocol' in result ? UDP_REASON_MEANING[result.reason] : REASON_MEANING[result.reason];
}

/** What to try next for a result, in its protocol's words (TCP's per reason where it has its own). */
export function nextStepsOf(result: PortResult | UdpPortResult): readonly string[] {
  return 'protocol' in result ? UDP_NEXT_STEPS[result.state] : nextStepsFor(result);
}

/** The first thing to try for a result (the widget's advice); `undefined` when there is none. */
export function firstStepOf(result: PortResult | UdpPortResult): string | undefined {
  return 'protocol' in result ? UDP_NEXT_STEPS[result.state][0] : firstStepFor(result);
}

/** A state as a CSS class name: `open|filtered` becomes `open-filtered`. */
export function stateClass(state: PortState | UdpPortState): string {
  return state.replace('|', '-');
}

/** The doctor's advice for a check: why to run it, and the command (shown as code where it can be). */
export interface DoctorAdvice {
  readonly lead: string;
  readonly command: string;
}

/**
 * For the first port of `results` that is not open (`undefined` when none): the one command
 * that walks the caller's own machine (service, bind address, firewall, address, then a check
 * from outside), with the CLI the deployment at `base` serves.
 */
export function doctorAdvice(base: string, results: readonly (PortResult | UdpPortResult)[]): DoctorAdvice | undefined {
  const first = results.find((r) => r.state !== 'open' && r.state !== 'untestable');
  if (first === undefined) return undefined;
  const udp = protocolOf(first) === 'udp' ? ' --udp' : '';
  return {
    lead: 'To find where it breaks, run this on the machine that should answer (it checks the service, the address it listens on, the firewall and your address, then checks again from here): ',
    command: `curl -sO ${base}/dialback.mjs && node dialback.mjs doctor ${first.port}${udp}`,
  };
}
