/**
 * Rate-limit headers in the IETF httpapi working group's format, as of
 * draft-ietf-httpapi-ratelimit-headers-10 (§3 `RateLimit-Policy`, §4 `RateLimit`): structured
 * field lists of named policies, `q` quota and `w` window (seconds) in the policy, `r`
 * remaining and `t` seconds to reset in the current standing.
 */
import type { RateStatus, RateWindow } from '../core/rate-limiter.ts';

/** `RateLimit-Policy` for the configured windows, e.g. `"minute";q=30;w=60, "day";q=500;w=86400`. */
export function rateLimitPolicy(windows: readonly RateWindow[]): string {
  return windows.map((w) => `"${w.name}";q=${w.limit};w=${w.seconds}`).join(', ');
}

/** `RateLimit-Policy` and `RateLimit` headers for a caller's standing. */
export function rateLimitHeaders(status: RateStatus, windows: readonly RateWindow[]): Record<string, string> {
  return {
    'ratelimit-policy': rateLimitPolicy(windows),
    ratelimit: status.windows.map((s) => `"${s.window.name}";r=${s.remaining};t=${s.resetSeconds}`).join(', '),
  };
}
