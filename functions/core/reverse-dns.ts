/**
 * Reverse DNS for `/ip`, strictly bounded: one try with a short timeout, and `null` for any
 * failure, because a missing PTR record or a slow resolver must never fail the request.
 */
import { Resolver } from 'node:dns/promises';
import type { SourceAddress } from './source-address.ts';

/** Looks up one PTR name for an address; `null` when there is none or it took too long. */
export type ReverseDns = (address: string) => Promise<string | null>;

/** Builds a lookup bounded by `timeoutMs`, optionally against given DNS servers (tests). */
export function createReverseDns(options: { timeoutMs: number; servers?: string[] }): ReverseDns {
  return async (address) => {
    const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    // Stryker disable next-line ConditionalExpression: a mutant ignoring `servers` would send the tests' PTR questions to the machine's resolver, off the machine.
    if (options.servers) resolver.setServers(options.servers);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<null>((resolve) => {
      timer = setTimeout(() => {
        resolver.cancel();
        resolve(null);
      }, options.timeoutMs);
    });
    try {
      const lookup = resolver.reverse(address).then(
        (names) => names[0] ?? null,
        () => null,
      );
      return await Promise.race([lookup, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The caller's PTR name, asked only for global addresses: a PTR for loopback, private or lab
 * addresses means nothing to the caller, and skipping them keeps a local or lab server from
 * sending DNS queries off the machine.
 */
export function callerName(
  lookup: ReverseDns,
  source: Pick<SourceAddress, 'address' | 'range'>,
): Promise<string | null> {
  return source.range === 'unicast' ? lookup(source.address) : Promise.resolve(null);
}
