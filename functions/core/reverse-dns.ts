/**
 * Reverse DNS for `/ip` and the page, strictly bounded: one try with a short timeout, and `null`
 * for any failure, because a missing PTR record or a slow resolver must never fail the request.
 *
 * Bounded per caller too: `/ip` and `/` spend no rate-limit budget, so without a bound one client
 * could have the service ask its resolver on every request. Answers (a name or none) are reused
 * for `cacheMs`, concurrent questions for one address share one lookup, and each caller (an IPv4
 * address or an IPv6 /64, as the limiter counts them) gets `lookupsPerWindow` fresh lookups per
 * `windowMs`; past that it is answered `null` without asking. Memory is bounded by `maxEntries`.
 * The bound is per process (per Lambda container); BENCHMARKS.md measures it.
 */
import { Resolver } from 'node:dns/promises';
import type { SourceAddress } from './source-address.ts';
import { callerIdentity } from './source-address.ts';

/** Looks up one PTR name for an address; `null` when there is none or it took too long. */
export type ReverseDns = (address: string) => Promise<string | null>;

/** How lookups are bounded per caller. */
export interface LookupBounds {
  /** How long an answer, a name or none, is reused. */
  readonly cacheMs: number;
  /** Fresh lookups one caller may cause per `windowMs`. */
  readonly lookupsPerWindow: number;
  readonly windowMs: number;
  /** Most answers, and most callers, remembered at once; the oldest are forgotten first. */
  readonly maxEntries: number;
}

/**
 * Five minutes of reuse (PTR names rarely change faster, and the answer is informational);
 * five fresh lookups a minute per caller, enough for a /64 with a few hosts behind it.
 */
export const DEFAULT_LOOKUP_BOUNDS: LookupBounds = Object.freeze({
  cacheMs: 5 * 60_000,
  lookupsPerWindow: 5,
  windowMs: 60_000,
  maxEntries: 10_000,
});

/** Options of `createReverseDns`. */
export interface ReverseDnsOptions {
  readonly timeoutMs: number;
  /** DNS servers to ask instead of the system's (tests). */
  readonly servers?: string[];
  readonly bounds?: LookupBounds;
  readonly now?: () => number;
}

/** Sets `key` as the newest entry, forgetting the oldest past `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}

/** One lookup bounded by `timeoutMs`, optionally against given DNS servers. */
function lookupOnce(options: ReverseDnsOptions): ReverseDns {
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

/** Builds the lookup, bounded in time per question and in questions per caller (see above). */
export function createReverseDns(options: ReverseDnsOptions): ReverseDns {
  const bounds = options.bounds ?? DEFAULT_LOOKUP_BOUNDS;
  const now = options.now ?? Date.now;
  const lookup = lookupOnce(options);
  const answers = new Map<string, { readonly name: Promise<string | null>; readonly expires: number }>();
  const spent = new Map<string, { count: number; readonly windowStart: number }>();
  return (address) => {
    const at = now();
    const cached = answers.get(address);
    if (cached !== undefined && cached.expires > at) return cached.name;
    const caller = callerIdentity({ address, family: address.includes(':') ? 6 : 4, range: 'unicast' });
    let budget = spent.get(caller);
    if (budget === undefined || at - budget.windowStart >= bounds.windowMs) {
      budget = { count: 0, windowStart: at };
      remember(spent, caller, budget, bounds.maxEntries);
    }
    if (budget.count >= bounds.lookupsPerWindow) return Promise.resolve(null);
    budget.count += 1;
    const name = lookup(address);
    remember(answers, address, { name, expires: at + bounds.cacheMs }, bounds.maxEntries);
    return name;
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
