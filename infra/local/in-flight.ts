/**
 * Requests in flight, bounded per caller and in total, before any reaches the table or the
 * probe. Without it one caller's burst (400 checks at once) queued every caller's counter
 * write behind it, and a quiet caller's checks failed 503 waiting for a table socket; a caller
 * over its share is now answered at once, and only its own requests are.
 */
import { callerIdentity, parseSourceAddress } from '../../functions/core/source-address.ts';

/** How many requests may be in flight at once. */
export interface InFlightLimits {
  /** From one caller (IPv6 callers by /64, as the rate limit counts them). */
  readonly perCaller: number;
  /** From everyone together. */
  readonly total: number;
}

/**
 * The defaults: more than a page or a script needs at once (a browser opens 6 connections per
 * host; the CLI's --from and --both send one check per region and family), and a total that
 * keeps the embedded table's 50 sockets from being queued for long.
 */
export const DEFAULT_IN_FLIGHT: InFlightLimits = Object.freeze({ perCaller: 16, total: 128 });

/** What `enter` decided: admitted (call `leave` when done), or who is over the limit. */
export type Admission =
  | { readonly admitted: true; leave(): void }
  | { readonly admitted: false; readonly over: 'caller' | 'total' };

/** A gate for requests from callers named by address. */
export interface InFlightGate {
  enter(address: string): Admission;
  /** Requests in flight now, for tests and start-up figures. */
  size(): number;
}

/** Creates a gate with `limits`. */
export function createInFlightGate(limits: InFlightLimits = DEFAULT_IN_FLIGHT): InFlightGate {
  const byCaller = new Map<string, number>();
  let total = 0;
  const keyOf = (address: string): string => {
    try {
      return callerIdentity(parseSourceAddress(address));
    } catch {
      // Unreadable addresses are refused by the handler; count them together meanwhile.
      return address;
    }
  };
  return {
    enter(address) {
      const key = keyOf(address);
      const mine = byCaller.get(key) ?? 0;
      if (mine >= limits.perCaller) return { admitted: false, over: 'caller' };
      if (total >= limits.total) return { admitted: false, over: 'total' };
      byCaller.set(key, mine + 1);
      total += 1;
      let left = false;
      return {
        admitted: true,
        leave() {
          if (left) return;
          left = true;
          total -= 1;
          const now = (byCaller.get(key) ?? 1) - 1;
          // Entries go when their last request does, so memory follows the callers in flight.
          if (now === 0) byCaller.delete(key);
          else byCaller.set(key, now);
        },
      };
    },
    size: () => total,
  };
}
