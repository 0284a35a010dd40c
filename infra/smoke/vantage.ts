/**
 * Where the smoke runner stands on the network. A verdict can only be proven from a machine the
 * service dials directly: when the address the API sees is one of this machine's own, a port
 * opened here must read open and a refused one closed; behind NAT neither says anything.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import type { ObservedResponse } from './openapi-check.ts';

/** One canonical spelling per address, so `::ffff:192.0.2.1` and `192.0.2.1` compare equal. */
function canonical(address: string): string | undefined {
  try {
    return ipaddr.process(address.replace(/%.*$/, '')).toString();
  } catch {
    return undefined;
  }
}

/** The addresses this machine's interfaces hold, loopback included, in canonical form. */
export function ownAddresses(): ReadonlySet<string> {
  const own = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      const address = canonical(entry.address);
      if (address !== undefined) own.add(address);
    }
  }
  return own;
}

/** Whether `address` (as the API reports it) is one of `own`. */
export function isOwnAddress(address: string, own: ReadonlySet<string>): boolean {
  const seen = canonical(address);
  return seen !== undefined && own.has(seen);
}

/**
 * Connect errors that mean this machine has no path of that family, not that the API lacks
 * one: no route or no address of the family here, or the first router saying so.
 */
export const NO_ROUTE_FROM_HERE: ReadonlySet<string> = new Set([
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'EAFNOSUPPORT',
]);

/**
 * Resolves as the system does, except `localhost` over IPv6, which is ::1 (RFC 6761): the local
 * server announces its ::1 listener by that name, and many hosts files give ::1 another
 * (`ip6-localhost`), so the system resolver would find no IPv6 address for it.
 */
const lookup: net.LookupFunction = (hostname, options, callback) => {
  if (hostname !== 'localhost' || options.family !== 6) {
    dns.lookup(hostname, options, callback);
  } else if (options.all === true) {
    (callback as (error: null, addresses: dns.LookupAddress[]) => void)(null, [{ address: '::1', family: 6 }]);
  } else {
    callback(null, '::1', 6);
  }
};

/**
 * A GET pinned to one address family. `fetch` picks whichever family connects first, so it
 * cannot show that a dual-stack endpoint is reachable over IPv6; this resolves and connects
 * over `family` only. Rejects with the socket's error (its `code` says why).
 */
export function getOverFamily(
  url: string,
  family: 4 | 6,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<ObservedResponse> {
  const get = url.startsWith('https:') ? https.get : http.get;
  return new Promise((resolve, reject) => {
    const request = get(url, { family, lookup, headers, signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const observed: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) observed[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({ status: response.statusCode ?? 0, headers: observed, body: Buffer.concat(chunks).toString() });
      });
    });
    request.on('error', reject);
  });
}

/**
 * A port nothing on this machine listens on: one the kernel just handed out and took back, on
 * every address of both families, so a connection to it is refused wherever it arrives.
 */
export async function refusedPort(): Promise<number> {
  const bind = (options: net.ListenOptions): Promise<number> =>
    new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(options, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
  try {
    return await bind({ port: 0, host: '::', ipv6Only: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    return bind({ port: 0, host: '0.0.0.0' });
  }
}
