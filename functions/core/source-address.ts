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
  } else if (/^[0-9A-Fa-f:.]+$/.test(text) && text.includes(':')) {
    parsed = parseIPv6(text);
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

/**
 * Parses IPv6 text, writing a trailing dotted quad as two hex groups first. ipaddr.js reads
 * `::a.b.c.d` (IPv4-compatible) as `::ffff:a.b.c.d` (IPv4-mapped), which would unwrap it to
 * the IPv4 address inside; in hex it is parsed as the ::/96 address it is.
 */
function parseIPv6(text: string): ipaddr.IPv6 {
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let hex = text;
  if (quad?.[1] !== undefined && quad[2] !== undefined) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(quad[2])) throw unparsable();
    const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(quad[2]).octets;
    hex = `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!/^[0-9A-Fa-f:]+$/.test(hex) || !ipaddr.IPv6.isValid(hex)) throw unparsable();
  return ipaddr.IPv6.parse(hex);
}

/** `::/96` but `::` and `::1`: IPv4-compatible IPv6, deprecated (RFC 4291 §2.5.5.1) and never routed. */
function isIPv4Compatible(addr: ipaddr.IPv6): boolean {
  const parts = addr.parts;
  return parts.slice(0, 6).every((p) => p === 0) && ((parts[6] ?? 0) !== 0 || (parts[7] ?? 0) > 1);
}

function rangeOf(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  if (addr.kind() === 'ipv6' && isIPv4Compatible(addr as ipaddr.IPv6)) return 'ipv4Compatible';
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
  ipv4Compatible:
    'it is an IPv4-compatible IPv6 address (::a.b.c.d), deprecated since 2006 and not routed on the Internet. Connect over IPv4 or with your real IPv6 address.',
  benchmarking: 'it is in a benchmarking range, which is not routed on the Internet.',
};

/**
 * Refuses a target the policy does not allow, with a 403 whose detail says why. Global
 * unicast always passes; `public-and-loopback` adds loopback (the local server on 127.0.0.1);
 * `any` is for lab tests on non-routable addresses and is never set by the deployed stack.
 * IPv4-compatible `::a.b.c.d` passes no policy.
 */
export function assertDialable(source: SourceAddress, policy: TargetPolicy): void {
  // IPv4-compatible addresses are refused even under `any`: a kernel with a SIT tunnel would
  // send the packet to the IPv4 address inside, which is not the caller.
  if (source.range === 'unicast' || (policy === 'any' && source.range !== 'ipv4Compatible')) return;
  if (policy === 'public-and-loopback' && source.range === 'loopback') return;
  const why =
    WHY[source.range] ?? `it is in a special-purpose range (${source.range}) that is not routed on the Internet.`;
  throw new Forbidden(`Your address cannot be checked from the Internet: ${why}`);
}
