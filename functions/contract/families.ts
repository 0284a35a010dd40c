/**
 * IPv4 and IPv6 side by side: what it means when a port reads differently over the two, and
 * what to say when one family could not be checked. One copy for every client that shows both
 * families (`dialback --both`, the page, the widget), so they diagnose alike.
 */
import { familyDifference } from './verdict-text.ts';
import { type CheckResponse, type Endpoints, type Protocol, protocolOf } from './wire.ts';

/** The ports of one check: TCP (`ports=`) and UDP (`udp=`). */
export interface PortsAsked {
  readonly tcp: readonly number[];
  readonly udp: readonly number[];
}

/** A bare port list is TCP only. */
export function askedOf(ports: readonly number[] | PortsAsked): PortsAsked {
  return 'tcp' in ports ? ports : { tcp: ports, udp: [] };
}

/** Why the caller's IPv6 was not checked although the deployment has a dual-stack endpoint. */
export const NO_IPV6_CALLER =
  'Your network has no IPv6 (or does not use it here): the dual-stack endpoint saw you over IPv4, so there is no IPv6 address to check.';

/** Why IPv6 is not checked at all on a deployment with an IPv4 endpoint only. */
export const NO_DUAL_STACK_ENDPOINT =
  'IPv6 is not checked: this service has no dual-stack endpoint (a deployment in default egress mode cannot dial IPv6; vpc mode can). Only IPv4 is shown.';

/** Why one family was not checked: the deployment has no endpoint for it, or the caller no IPv6. */
export type Absence = 'no-endpoint' | 'no-ipv6';

/** The long reasons, for the page, by absence. */
export const ABSENCE_REASON: Readonly<Record<Absence, string>> = {
  'no-endpoint': NO_DUAL_STACK_ENDPOINT,
  'no-ipv6': NO_IPV6_CALLER,
};

/** The same in a few words, for the widget, which sits inside someone else's page. */
export const ABSENCE_SHORT: Readonly<Record<Absence, string>> = {
  'no-endpoint': 'IPv6 not checked: this service has no IPv6 endpoint.',
  'no-ipv6': 'IPv6 not checked: your network reached the service over IPv4 only.',
};

/**
 * `undefined` when `check` dialed the family asked for; otherwise why it says nothing about
 * that family (a proxy, an IPv4-only endpoint, or a caller without IPv6 on a dual-stack one).
 */
export function wrongFamily(check: Pick<CheckResponse, 'family'>, family: 4 | 6): string | undefined {
  return check.family === family ? undefined : `the API saw this request over IPv${check.family}`;
}

/** One line per port that reads differently over IPv4 and IPv6, saying what that means. */
export function diagnose(v4: CheckResponse, v6: CheckResponse, ports: readonly number[] | PortsAsked): string[] {
  const { tcp, udp } = askedOf(ports);
  const asked: [number, Protocol][] = [
    ...tcp.map((p): [number, Protocol] => [p, 'tcp']),
    ...udp.map((p): [number, Protocol] => [p, 'udp']),
  ];
  const notes: string[] = [];
  for (const [port, protocol] of asked) {
    const same = (r: CheckResponse['results'][number]): boolean => r.port === port && protocolOf(r) === protocol;
    const a = v4.results.find(same);
    const b = v6.results.find(same);
    const difference = a && b ? familyDifference(port, a, b, protocol) : undefined;
    if (difference !== undefined) notes.push(difference);
  }
  return notes;
}

/**
 * The origins of a deployment's endpoints: the page served by one fetches from the other, so
 * its CSP `connect-src` names them and CORS always admits them.
 */
export function endpointOrigins(endpoints: Endpoints): string[] {
  const origins = [endpoints.ipv4, endpoints.dualStack].flatMap((url) => (url === null ? [] : [new URL(url).origin]));
  return [...new Set(origins)];
}
