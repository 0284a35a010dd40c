/**
 * Which addresses are hosts on the Internet, by one rule for every side: the service dials a
 * caller only when its address is global unicast here, and the CLI calls a check of any other
 * address a local view (and speaks plain http to an API given by such a literal). Classification
 * uses `ipaddr.js` (a kept library) rather than hand-written ranges.
 */
import ipaddr from 'ipaddr.js';

/** A parsed address, IPv4-mapped IPv6 already unwrapped. */
export interface ClassifiedAddress {
  /** Canonical text form, ready for `net.connect`. */
  readonly address: string;
  readonly family: 4 | 6;
  /** `ipaddr.js`'s range name: `unicast` is the only globally routable one. */
  readonly range: string;
}

/**
 * Parses an address strictly, or `undefined` when it is not one. Accepts a bare IPv4 or IPv6
 * address, and the `1.2.3.4:port` / `[v6]:port` forms some proxies produce. Zone ids,
 * hostnames, IPv4 written in octal/hex/short forms and anything else are refused.
 */
export function classifyAddress(raw: string): ClassifiedAddress | undefined {
  if (raw === '' || raw.length > 64) return undefined;
  let text = raw;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1] !== undefined) {
    text = bracketed[1];
  } else if (/^[0-9.]+:\d{1,5}$/.test(text)) {
    text = text.slice(0, text.indexOf(':'));
  }
  let parsed: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
    parsed = ipaddr.IPv4.parse(text);
  } else if (/^[0-9A-Fa-f:.]+$/.test(text) && text.includes(':')) {
    parsed = parseIPv6(text);
    if (parsed?.isIPv4MappedAddress()) parsed = parsed.toIPv4Address();
  }
  if (parsed === undefined) return undefined;
  return {
    address: parsed.toString(),
    family: parsed.kind() === 'ipv4' ? 4 : 6,
    range: rangeOf(parsed),
  };
}

/** Whether `ip` is an address on the Internet (global unicast), as the service decides it. */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip)?.range === 'unicast';
}

/**
 * Parses IPv6 text, writing a trailing dotted quad as two hex groups first. ipaddr.js reads
 * `::a.b.c.d` (IPv4-compatible) as `::ffff:a.b.c.d` (IPv4-mapped), which would unwrap it to
 * the IPv4 address inside; in hex it is parsed as the ::/96 address it is.
 */
function parseIPv6(text: string): ipaddr.IPv6 | undefined {
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let hex = text;
  if (quad?.[1] !== undefined && quad[2] !== undefined) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(quad[2])) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = ipaddr.IPv4.parse(quad[2]).octets;
    hex = `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!/^[0-9A-Fa-f:]+$/.test(hex) || !ipaddr.IPv6.isValid(hex)) return undefined;
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
