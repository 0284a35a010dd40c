/**
 * The probe's one and only target: the address API Gateway saw the request come from
 * (`requestContext.http.sourceIp`). This module parses it strictly and decides whether it may
 * be dialed. Classification uses `ipaddr.js` (a kept library) rather than hand-written ranges.
 */
import ipaddr from 'ipaddr.js';
import { BadRequest, Forbidden } from './errors.ts';

/** A parsed caller address, IPv4-mapped IPv6 already unwrapped. */
export interface SourceAddress {
  /** Canonical text form, ready for `net.connect`. */
  readonly address: string;
  readonly family: 4 | 6;
  /** `ipaddr.js`'s range name: `unicast` is the only globally routable one. */
  readonly range: string;
}

/** Who may be dialed. The Lambda entry always uses `'public-only'`. */
export type TargetPolicy = 'public-only' | 'public-and-loopback' | 'any';

/**
 * Parses the source address strictly. Accepts a bare IPv4 or IPv6 address, and the
 * `1.2.3.4:port` / `[v6]:port` forms some proxies produce. Zone ids, hostnames, IPv4 written
 * in octal/hex/short forms and anything else are refused.
 */
export function parseSourceAddress(raw: string | undefined): SourceAddress {
  if (raw === undefined || raw === '' || raw.length > 64) throw unparsable();
  let text = raw;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1] !== undefined) {
    text = bracketed[1];
  } else if (/^[0-9.]+:\d{1,5}$/.test(text)) {
    text = text.slice(0, text.indexOf(':'));
  }
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    parsed = ipaddr.IPv4.parse(text);
  } else if (/^[0-9A-Fa-f:.]+$/.test(text) && text.includes(':') && ipaddr.IPv6.isValid(text)) {
    parsed = ipaddr.IPv6.parse(text);
    if (parsed.isIPv4MappedAddress()) parsed = parsed.toIPv4Address();
  } else {
    throw unparsable();
  }
  return {
    address: parsed.toString(),
    family: parsed.kind() === 'ipv4' ? 4 : 6,
    range: rangeOf(parsed),
  };
}

function rangeOf(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  const range = addr.range();
  // ipaddr.js calls every unlisted IPv6 address "unicast"; only 2000::/3 is allocated as
  // global unicast, so anything outside it is not a real Internet host.
  if (range === 'unicast' && addr.kind() === 'ipv6' && !addr.match(ipaddr.IPv6.parse('2000::'), 3)) {
    return 'unallocated';
  }
  return range;
}

function unparsable(): BadRequest {
  return new BadRequest('The address this request came from could not be read, so it cannot be checked.');
}

/** Why each non-global range cannot be reached from the Internet, in words for people. */
const WHY: Readonly<Record<string, string>> = {
  loopback: 'it is a loopback address, which only ever reaches the machine itself.',
  private: 'it is a private (RFC 1918) address, used inside home and office networks and not routed on the Internet.',
  uniqueLocal: 'it is an IPv6 unique local address (fc00::/7), used inside networks and not routed on the Internet.',
  linkLocal: 'it is a link-local address, valid only on one network segment (this includes cloud metadata services).',
  carrierGradeNat:
    'it is in 100.64.0.0/10, the carrier-grade NAT range: your ISP shares one public address among many customers, so no inbound connection can reach you. Ask your ISP for a public IPv4 address, or use IPv6.',
  multicast: 'it is a multicast address, not one host.',
  broadcast: 'it is a broadcast address, not one host.',
  unspecified: 'it is the unspecified address, not a host.',
  reserved: 'it is in a reserved or documentation range, which is not routed on the Internet.',
  benchmarking: 'it is in a benchmarking range, which is not routed on the Internet.',
};

/**
 * Refuses a target the policy does not allow, with a 403 whose detail says why. Global
 * unicast always passes; `public-and-loopback` adds loopback (the local server on 127.0.0.1);
 * `any` is for lab tests on non-routable addresses and is never set by the deployed stack.
 */
export function assertDialable(source: SourceAddress, policy: TargetPolicy): void {
  if (source.range === 'unicast' || policy === 'any') return;
  if (policy === 'public-and-loopback' && source.range === 'loopback') return;
  const why =
    WHY[source.range] ?? `it is in a special-purpose range (${source.range}) that is not routed on the Internet.`;
  throw new Forbidden(`Your address cannot be checked from the Internet: ${why}`);
}
