/**
 * The wire contract: what goes over HTTP between the API and its callers (the typed client, the
 * widget, the page script, the CLI). The handler builds these bodies, the OpenAPI document
 * derives its enums and patterns from here, and this module imports nothing of ours (core, api,
 * the views, the client and the CLI all build on it), so a change in the probe cannot silently
 * change the JSON, and a field or word added in one place cannot be missing in another.
 *
 * Port grammar. Strict on purpose: only plain ASCII decimal 1–65535 is a port, and a list is
 * ports separated by single commas. `0x50`, `1e3`, ` 80`, `080`, `22 80` or Arabic-Indic digits
 * are refused rather than guessed at (never glued: `22 80` is not 2280), so what is probed is
 * always exactly what the caller wrote.
 */

/** Nmap's TCP connect-scan states, plus `untestable` for ports the checker itself cannot reach. */
export type TcpPortState = 'open' | 'closed' | 'filtered' | 'untestable';

/** Why a TCP port got its state; the same words as Nmap's `--reason` where Nmap has them. */
export type TcpPortReason =
  | 'syn-ack'
  | 'conn-refused'
  | 'no-response'
  | 'host-unreach'
  | 'net-unreach'
  | 'admin-prohibited'
  | 'proto-unreach'
  | 'dest-unreach'
  | 'blocked-at-source'
  | 'no-ipv6-egress';

/**
 * Why a verdict deserves a second look. `icmp-rate-limit`: the port read filtered by silence
 * while the same host was answering other ports with ICMP errors at the pace of its rate limit,
 * so the silence may be an error the host had no budget left to send.
 */
export type PortHint = 'icmp-rate-limit';

/** The verdict for one TCP port. `rttMs` is the winning attempt's round trip, `null` without an answer. */
export interface TcpPortResult {
  readonly port: number;
  readonly state: TcpPortState;
  readonly reason: TcpPortReason;
  readonly rttMs: number | null;
  /** Present only when the verdict deserves a second look (see `PortHint`). */
  readonly hint?: PortHint;
}

/** Nmap's UDP port states, plus `untestable` for ports the checker itself cannot reach. */
export type UdpPortState = 'open' | 'closed' | 'filtered' | 'open|filtered' | 'untestable';

/** Why a UDP port got its state; Nmap's `--reason` words for `-sU`. */
export type UdpPortReason =
  | 'udp-response'
  | 'port-unreach'
  | 'admin-prohibited'
  | 'net-unreach'
  | 'proto-unreach'
  | 'dest-unreach'
  | 'no-response'
  | 'blocked-at-source'
  | 'no-ipv6-egress';

/** The verdict for one UDP port; `rttMs` is from the first datagram to the answer, `null` without one. */
export interface UdpPortResult {
  readonly port: number;
  readonly protocol: 'udp';
  readonly state: UdpPortState;
  readonly reason: UdpPortReason;
  readonly rttMs: number | null;
}

/**
 * The deployment's public base URLs (no trailing slash), `null` where there is none. A page
 * checks IPv4 through `ipv4`, which accepts IPv4 callers only, and IPv6 through `dualStack`,
 * over which a caller with IPv6 arrives by IPv6. The function cannot find these by itself:
 * which API invoked it says nothing about its sibling, so the stack passes both.
 */
export interface Endpoints {
  /** An IPv4-only endpoint (`API_URL_IPV4`): every check through it dials IPv4. */
  readonly ipv4: string | null;
  /** A dual-stack endpoint (`API_URL_DUAL_STACK`): only where the deployment can dial IPv6. */
  readonly dualStack: string | null;
}

/**
 * A port or port list that breaks the port grammar (see the top of this module). The API answers it as a 400 problem; the
 * CLI and the page show its message as it is, so the message names the value and the fix.
 */
export class PortSyntaxError extends Error {
  override readonly name = 'PortSyntaxError';
}

/** A port state in either protocol: Nmap's `-sT` words, and `open|filtered` from its `-sU`. */
export type PortState = TcpPortState | UdpPortState;
/** Why a port got its state, in either protocol. */
export type PortReason = TcpPortReason | UdpPortReason;
/** One port's verdict. A UDP result says `protocol: "udp"`; a TCP one has no `protocol` (v1 shape). */
export type PortResult = TcpPortResult | UdpPortResult;

/** The two transport protocols a check can use. */
export type Protocol = 'tcp' | 'udp';

/** The protocol of a result (a result without `protocol` is TCP). */
export function protocolOf(result: PortResult): Protocol {
  return 'protocol' in result && result.protocol === 'udp' ? 'udp' : 'tcp';
}

/** Narrows a result to a UDP one. */
export function isUdpResult(result: PortResult): result is UdpPortResult {
  return protocolOf(result) === 'udp';
}

/** Every port state, in the order documents list them. */
export const PORT_STATES = [
  'open',
  'closed',
  'filtered',
  'open|filtered',
  'untestable',
] as const satisfies readonly PortState[];

/** The states a UDP port can read, in the order documents list them. */
export const UDP_PORT_STATES = [
  'open',
  'closed',
  'filtered',
  'open|filtered',
  'untestable',
] as const satisfies readonly UdpPortState[];

/** Every reason word, in the order documents list them. */
export const PORT_REASONS = [
  'syn-ack',
  'conn-refused',
  'no-response',
  'host-unreach',
  'net-unreach',
  'admin-prohibited',
  'proto-unreach',
  'dest-unreach',
  'blocked-at-source',
  'no-ipv6-egress',
  'udp-response',
  'port-unreach',
] as const satisfies readonly PortReason[];

// A state or reason added to the types above but not to these lists fails to compile here.
type Missing<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : Exclude<All, Listed>;
const statesComplete: Missing<PortState, (typeof PORT_STATES)[number]> = true;
const reasonsComplete: Missing<PortReason, (typeof PORT_REASONS)[number]> = true;
void statesComplete;
void reasonsComplete;

/** Where probes leave from. */
export interface Egress {
  /** True when every probe leaves from the listed addresses, so a firewall can allow them. */
  readonly fixed: boolean;
  /** The fixed source addresses or CIDR ranges; empty when not fixed. */
  readonly addresses: readonly string[];
  /** Whether this deployment can dial IPv6 callers. */
  readonly ipv6: boolean;
}

/** `GET /check/{port}` and `GET /check?ports=`. */
export interface CheckResponse {
  /** The address that was checked: always the address the request came from. */
  readonly ip: string;
  readonly family: 4 | 6;
  /** Where the probe ran (the AWS region, or `local`). */
  readonly checkedFrom: string;
  /** Per-port deadline used for this check. */
  readonly timeoutMs: number;
  readonly egress: Egress;
  readonly results: readonly PortResult[];
}

/** `GET /ip`. */
export interface IpResponse {
  readonly ip: string;
  readonly family: 4 | 6;
  /**
   * The PTR name of the address, or `null` when it has none, the lookup timed out, or the
   * caller has used its few fresh lookups a minute (answers are reused for 5 minutes).
   */
  readonly reverseDns: string | null;
  readonly egress: Egress;
  /** Which endpoints this deployment has: the page and the widget check each family through its own. */
  readonly endpoints: Endpoints;
  /**
   * The autonomous system that holds the address, from the offline dataset (no lookup service
   * is asked); `null` for a non-public address or one the dataset does not cover. So are `org`,
   * `country`, `networkKind` and `dataDate`.
   */
  readonly asn: number | null;
  /** The AS's holder as the dataset names it, e.g. "Deutsche Telekom AG". */
  readonly org: string | null;
  /** ISO 3166-1 alpha-2 country code, upper case. */
  readonly country: string | null;
  /** Set when the holder is on the documented list of hosting, VPN and relay networks (README). */
  readonly networkKind: NetworkKind | null;
  /** The date of the dataset the answer comes from, `YYYY-MM-DD`. */
  readonly dataDate: string | null;
}

/** What kind of network holds an address, when it is plainly not a home or mobile ISP. */
export type NetworkKind = 'hosting' | 'vpn' | 'relay';

/** The values of `NetworkKind`, for validators and the OpenAPI document. */
export const NETWORK_KINDS: readonly NetworkKind[] = ['hosting', 'vpn', 'relay'];

/** RFC 9457 problem details, as every error is answered. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Seconds to wait, on 429 and 503. */
  readonly retryAfterSeconds?: number;
  /** Quote it when reporting a problem; it finds the request's log line. */
  readonly requestId?: string;
}

/** One region a deployment checks from. */
export interface Region {
  /** The region's name, as its checks report it in `checkedFrom` (e.g. `eu-central-1`). */
  readonly name: string;
  /** Base URL of the region's API, without a trailing slash: `GET {api}/check?ports=…`. */
  readonly api: string;
}

/** `GET /regions`: every region, the one that answered (the primary) first. */
export interface RegionsResponse {
  readonly regions: readonly Region[];
}

/** One port, as a pattern without anchors (the range check to 65535 is in `parsePort`). */
export const PORT_PATTERN = '[1-9][0-9]{0,4}';

/** A port list, as a pattern without anchors: ports separated by single commas, nothing else. */
export const PORT_LIST_PATTERN = `${PORT_PATTERN}(?:,${PORT_PATTERN})*`;

const PORT = new RegExp(`^${PORT_PATTERN}$`);

/** Longest `ports` list text accepted; bounds the work done on hostile input. */
export const MAX_PORT_LIST_LENGTH = 1024;

/** Parses one port; throws `PortSyntaxError` with a message naming the value (and the protocol). */
export function parsePort(raw: string, protocol: Protocol = 'tcp'): number {
  if (PORT.test(raw)) {
    const port = Number(raw);
    if (port <= 65535) return port;
  }
  throw new PortSyntaxError(
    `"${printable(raw)}" is not a ${protocol.toUpperCase()} port: give a whole number from 1 to 65535, like ${protocol === 'udp' ? 51820 : 443}.`,
  );
}

/**
 * Parses a comma-separated list into distinct ports in the order first given. Duplicates count
 * once; more than `maxPorts` distinct ports is refused, never truncated. `protocol` names the
 * list's ports in the messages (`udp=0` is "not a UDP port").
 */
export function parsePortList(raw: string, maxPorts: number, protocol: Protocol = 'tcp'): number[] {
  if (raw.length > MAX_PORT_LIST_LENGTH) {
    throw new PortSyntaxError(
      `The ports list is ${raw.length} characters long; at most ${MAX_PORT_LIST_LENGTH} characters are accepted.`,
    );
  }
  if (raw === '')
    throw new PortSyntaxError(`The ports list is empty: give one to ${maxPorts} ports, like ports=22,80,443.`);
  if (/\s/.test(raw)) {
    throw new PortSyntaxError(
      `"${printable(raw)}" has spaces or line breaks in it: separate ports with commas only, like 22,80,443.`,
    );
  }
  const ports: number[] = [];
  for (const item of raw.split(',')) {
    if (item === '')
      throw new PortSyntaxError('The ports list has an empty item: separate ports with single commas, like 22,80.');
    if (/^\d{1,5}-\d{1,5}$/.test(item)) {
      throw new PortSyntaxError(
        `"${item}" is a range, and ranges are not accepted: a check dials at most ${maxPorts} ports, each counted against your budget, so name them, like 80,81,82.`,
      );
    }
    const port = parsePort(item, protocol);
    if (!ports.includes(port)) ports.push(port);
  }
  if (ports.length > maxPorts) {
    throw new PortSyntaxError(
      `${ports.length} distinct ports were asked for; at most ${maxPorts} are checked per request.`,
    );
  }
  return ports;
}

/** Shows a caller's value in a message without control characters and bounded in length. */
export function printable(value: string, max = 40): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
