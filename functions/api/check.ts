/**
 * One check, from request to verdicts: the caller's address is the only target, the policy
 * decides whether it may be dialed, the rate limiter is charged for every port, then the probe
 * runs. `/check` renders the result as JSON or text, the page as HTML; both come through here,
 * so neither can skip the limiter or the address guard.
 */
import { Unavailable } from '../core/errors.ts';
import type { PortResult } from '../core/probe.ts';
import type { RateStatus } from '../core/rate-limiter.ts';
import { assertDialable, parseSourceAddress } from '../core/source-address.ts';
import type { CheckResponse } from './responses.ts';
import type { RouteContext } from './routes.ts';

/** The shortest per-port deadline worth running; below it the answer would be a guess. */
const MIN_PROBE_MS = 250;

/** A finished check: the body every renderer shows and the caller's rate standing. */
export interface CheckOutcome {
  readonly body: CheckResponse;
  readonly rate: RateStatus;
}

function countStates(results: readonly PortResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
}

/** Checks `ports` on the caller's own address; throws the service's typed errors. */
export async function runCheck(ctx: Omit<RouteContext, 'params'>, ports: readonly number[]): Promise<CheckOutcome> {
  const { deps, event } = ctx;
  const source = parseSourceAddress(event.requestContext?.http?.sourceIp);
  assertDialable(source, deps.policy);
  ctx.logFields.ports = ports.length;
  const rate = await deps.limiter(source, ports.length);
  const timeoutMs = Math.min(deps.config.probeTimeoutMs, ctx.remainingMs());
  if (timeoutMs < MIN_PROBE_MS) {
    throw new Unavailable('The service ran out of time for this request; try again.', 1);
  }
  const results = await deps.probe(source, ports, {
    timeoutMs,
    attempts: deps.config.probeAttempts,
    attemptSpacingMs: deps.attemptSpacingMs,
    blockedPorts: deps.blockedPorts,
  });
  ctx.logFields.states = countStates(results);
  return {
    body: { ip: source.address, family: source.family, checkedFrom: deps.config.checkedFrom, timeoutMs, results },
    rate,
  };
}
