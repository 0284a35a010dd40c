/**
 * Both families from a browser: IPv4 through the deployment's IPv4-only endpoint and, where the
 * caller has IPv6, IPv6 through its dual-stack endpoint (the page and the widget share this).
 * The dual-stack endpoint's `/ip` is asked first, which spends nothing: a caller it sees over
 * IPv4 has no IPv6 to check, and is told so instead of being charged for a second IPv4 check.
 */
import { ABSENCE_REASON, type Absence, askedOf, diagnose, type PortsAsked, wrongFamily } from '../contract/families.ts';
import type { Endpoints } from '../contract/wire.ts';
import {
  type CheckResponse,
  createClient,
  DialbackError,
  type IpResponse,
  type RateStanding,
} from './dialback-client.ts';

/** What one family came to. */
export type FamilyView =
  | { readonly kind: 'checked'; readonly check: CheckResponse; readonly rateLimit: readonly RateStanding[] }
  /** Nothing to check: no endpoint for the family, or a caller without IPv6; `reason` says which. */
  | { readonly kind: 'absent'; readonly why: Absence; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: DialbackError };

/** Both families' outcomes and the diagnosis lines where both were checked. */
export interface FamiliesView {
  readonly v4: FamilyView;
  readonly v6: FamilyView;
  /** `diagnose()`'s lines: one per port that reads differently over the two. */
  readonly notes: readonly string[];
}

function absent(why: Absence): FamilyView {
  return { kind: 'absent', why, reason: ABSENCE_REASON[why] };
}

function failed(error: unknown): FamilyView {
  return {
    kind: 'failed',
    error: error instanceof DialbackError ? error : new DialbackError(String(error), 0, undefined, undefined),
  };
}

async function checkOver(api: string, ports: PortsAsked, family: 4 | 6, doFetch?: typeof fetch): Promise<FamilyView> {
  try {
    const { data, rateLimit } = await createClient({ api, ...(doFetch ? { fetch: doFetch } : {}) }).check(ports.tcp, {
      udp: ports.udp,
    });
    const wrong = wrongFamily(data, family);
    if (wrong === undefined) return { kind: 'checked', check: data, rateLimit };
    // A dual-stack endpoint that saw IPv4 means no IPv6; an IPv4-only one never sees IPv6.
    return family === 6 ? absent('no-ipv6') : failed(new Error(wrong));
  } catch (error) {
    return failed(error);
  }
}

/** The address the dual-stack endpoint sees where the caller has IPv6, else why there is none. */
export async function ipv6Address(endpoints: Endpoints, doFetch?: typeof fetch): Promise<IpResponse | Absence> {
  if (endpoints.dualStack === null) return 'no-endpoint';
  const { data } = await createClient({ api: endpoints.dualStack, ...(doFetch ? { fetch: doFetch } : {}) }).ip();
  return data.family === 6 ? data : 'no-ipv6';
}

/**
 * Checks `ports` (a bare list is TCP; `{ tcp, udp }` for both) over IPv4 and, where possible,
 * IPv6, concurrently. `ipv4` falls back to
 * `fallback` (the API the caller named) on a deployment that does not announce endpoints.
 */
export async function checkFamilies(
  endpoints: Endpoints,
  ports: readonly number[] | PortsAsked,
  fallback: string,
  doFetch?: typeof fetch,
): Promise<FamiliesView> {
  const asked = askedOf(ports);
  const v6 = async (): Promise<FamilyView> => {
    try {
      const seen = await ipv6Address(endpoints, doFetch);
      if (typeof seen === 'string') return absent(seen);
      return await checkOver(endpoints.dualStack ?? fallback, asked, 6, doFetch);
    } catch (error) {
      return failed(error);
    }
  };
  const [a, b] = await Promise.all([checkOver(endpoints.ipv4 ?? fallback, asked, 4, doFetch), v6()]);
  const notes = a.kind === 'checked' && b.kind === 'checked' ? diagnose(a.check, b.check, asked) : [];
  return { v4: a, v6: b, notes };
}
