/**
 * The probe's one and only target: the address API Gateway saw the request come from
 * (`requestContext.http.sourceIp`). This module parses it strictly and decides whether it may
 * be dialed. Which range an address is in is decided in `contract/address.ts`, where the CLI
 * reads the same rule.
 */
import ipaddr from 'ipaddr.js';
import { type ClassifiedAddress, classifyAddress } from '../contract/address.ts';
import { BadRequest, Forbidden } from './errors.ts';

/** The caller's parsed address (see `classifyAddress`). */
export type SourceAddress = ClassifiedAddress;

/** Who may be dialed. The Lambda entry always uses `'public-only'`. */
export type TargetPolicy = 'public-only' | 'public-and-loopback' | 'any';

/** Parses the caller's address strictly (see `classifyAddress`); throws `BadRequest` when it is not one. */
export function parseSourceAddress(raw: string | undefined): SourceAddress {
  const parsed = raw === undefined ? undefined : classifyAddress(raw);
  if (parsed === undefined) {
    throw new BadRequest('The address this request came from could not be read, so it cannot be checked.');
  }
  return parsed;
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

/**
 * The text that identifies a caller: the address itself for IPv4, the /64 for IPv6, since
 * one IPv6 subscriber usually holds a whole /64 and could otherwise rotate through it.
 */
export function callerIdentity(caller: SourceAddress): string {
  if (caller.family === 4) return caller.address;
  const parts = ipaddr.IPv6.parse(caller.address).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
