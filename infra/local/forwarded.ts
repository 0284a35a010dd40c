/**
 * The caller's address behind a reverse proxy (`--trust-proxy`). Without it the socket's peer is
 * the caller, as API Gateway reports it, and forwarding headers are ignored: anyone can write
 * them. With it, a connection from a listed proxy names its client in the one header the
 * operator's proxy writes, and the caller is the right-most hop that is not a trusted proxy:
 * every hop to its left was written by someone we do not trust, so a client cannot choose
 * the address we dial by sending a header of its own.
 */
import { BlockList, isIP } from 'node:net';
import { classifyAddress } from '../../functions/contract/address.ts';

/** The forwarding headers a proxy may write; the operator names the one theirs manages. */
export const PROXY_HEADERS = ['x-forwarded-for', 'forwarded'] as const;
/** One of `PROXY_HEADERS`. */
export type ProxyHeader = (typeof PROXY_HEADERS)[number];

/** Which proxies are trusted, and which header they write. */
export interface ProxyTrust {
  readonly proxies: BlockList;
  readonly header: ProxyHeader;
  /** The list as given, for the start-up line. */
  readonly listed: readonly string[];
}

/**
 * Parses `--trust-proxy` (addresses or CIDR ranges, comma-separated) and `--proxy-header`;
 * throws an `Error` naming the bad part.
 */
export function parseProxyTrust(list: string, header: string = 'x-forwarded-for'): ProxyTrust {
  const proxies = new BlockList();
  const listed = list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (listed.length === 0) throw new Error('--trust-proxy needs at least one address, e.g. --trust-proxy 127.0.0.1');
  for (const entry of listed) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && bits <= maxBits))
    ) {
      throw new Error(`--trust-proxy takes addresses or ranges like 127.0.0.1 or 10.0.0.0/8; got "${entry}"`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) proxies.addAddress(address, type);
    else proxies.addSubnet(address, bits, type);
  }
  const known = PROXY_HEADERS.find((name) => name === header.toLowerCase());
  if (known === undefined) {
    throw new Error(`--proxy-header is ${PROXY_HEADERS.join(' or ')} (the one your proxy writes); got "${header}"`);
  }
  return { proxies, header: known, listed };
}

/** Whose address a request carries: the caller to dial, or why none can be named. */
export type ClientAddress =
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly problem: 'untrusted-proxy' | 'no-forwarded-client'; readonly detail: string };

function isTrusted(proxies: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && proxies.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * One hop's address, or undefined when it names none: what the service's strict address parser
 * reads (a bare address, `1.2.3.4:port`, `[v6]` or `[v6]:port`, IPv4-mapped unwrapped), after
 * RFC 7239's optional quotes, and only with a port that is one.
 */
function hopAddress(hop: string): string | undefined {
  let value = hop.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  const port = /^(?:\[[^\]]*\]|[\d.]+):(\d{1,5})$/.exec(value)?.[1];
  if (port !== undefined && Number(port) > 65535) return undefined;
  return classifyAddress(value)?.address;
}

/** The hops of every line of `header`, first written first. */
function hopsOf(header: ProxyHeader, rawHeaders: readonly string[]): string[] {
  const hops: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] ?? '').toLowerCase() !== header) continue;
    for (const element of (rawHeaders[i + 1] ?? '').split(',')) {
      if (header === 'x-forwarded-for') {
        hops.push(element);
        continue;
      }
      // RFC 7239: `for=...;proto=...;by=...`; an element without `for` names no client.
      const pair = element.split(';').find((part) => part.trim().toLowerCase().startsWith('for='));
      hops.push(pair === undefined ? '' : pair.trim().slice(4));
    }
  }
  return hops;
}

/**
 * The caller of a request that arrived from `peer` with `rawHeaders` (Node's name/value list).
 * A loopback peer that forwards for someone while no proxy is trusted is refused: dialing it
 * would check the proxy's machine and report it as the caller's.
 */
export function clientAddress(
  peer: string,
  rawHeaders: readonly string[],
  trust: ProxyTrust | undefined,
): ClientAddress {
  const peerAddress = classifyAddress(peer);
  const from = peerAddress?.address ?? peer;
  if (trust === undefined || !isTrusted(trust.proxies, from)) {
    const loopback = peerAddress?.range === 'loopback';
    const forwarding = PROXY_HEADERS.some((name) => hopsOf(name, rawHeaders).length > 0);
    if (loopback && forwarding) {
      return {
        ok: false,
        problem: 'untrusted-proxy',
        detail: `This request came through a proxy on this machine (${from}) that the server does not trust, so it cannot tell whom to check. Start the server with --trust-proxy ${from}.`,
      };
    }
    return { ok: true, address: from };
  }
  const hops = hopsOf(trust.header, rawHeaders);
  let leftmost: string | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const address = hopAddress(hops[i] ?? '');
    if (address === undefined) {
      return {
        ok: false,
        problem: 'no-forwarded-client',
        detail: `The trusted proxy's ${trust.header} names "${(hops[i] ?? '').trim()}" where the client's address should be, so there is no address to check.`,
      };
    }
    if (!isTrusted(trust.proxies, address)) return { ok: true, address };
    leftmost = address;
  }
  if (leftmost !== undefined) return { ok: true, address: leftmost };
  return {
    ok: false,
    problem: 'no-forwarded-client',
    detail: `The request came from a trusted proxy (${from}) without a ${trust.header} header, so there is no client address to check. Have the proxy set it.`,
  };
}
