/**
 * One check, from request to verdicts: the caller's address is the only target, the policy
 * decides whether it may be dialed, the rate limiter is charged for every port, then the probe
 * runs. `/check` renders the result as JSON or text, the page as HTML; both come through here,
 * so neither can skip the limiter or the address guard.
 */

import { proofLine } from '../contract/dial-proof.ts';
import { localViewNotice } from '../contract/verdict-text.ts';
import { type CheckResponse, type Egress, type PortResult, parsePortList } from '../contract/wire.ts';
import type { Config } from '../core/config.ts';
import { parseToken } from '../core/dial-proof.ts';
import { BadRequest, Unavailable } from '../core/errors.ts';
import type { RateStatus } from '../core/rate-limiter.ts';
import { assertDialable, type SourceAddress } from '../core/source-address.ts';
import { DEFAULT_UDP_DATAGRAMS } from '../core/udp-probe.ts';
import { callerAddress, type RouteContext } from './context.ts';

/** The shortest per-port deadline worth running; below it the answer would be a guess. */
const MIN_PROBE_MS = 250;

/** A finished check: the body every renderer shows and the caller's rate standing. */
export interface CheckOutcome {
  readonly body: CheckResponse;
  /** Absent when nothing was spent (no probe could run, e.g. IPv6 without IPv6 egress). */
  readonly rate: RateStatus | undefined;
}

/** Where this deployment's probes leave from, as the responses report it. */
export function egressOf(config: Config): Egress {
  return { fixed: config.egressAddresses.length > 0, addresses: config.egressAddresses, ipv6: config.ipv6Egress };
}

function tokenParameter(ctx: Omit<RouteContext, 'params'>): string | undefined {
  const values = ctx.query.get('token');
  if (values === undefined) return undefined;
  if (values.length > 1) throw new BadRequest('Give "token" once.');
  return parseToken(values[0] ?? '');
}

/**
 * The `ports` query parameter as a port list, `undefined` when absent. `/check` and the page
 * both read it here, so "give it once" and the grammar are checked in one place.
 */
export function portListParameter(ctx: Pick<RouteContext, 'query' | 'deps'>): number[] | undefined {
  const values = ctx.query.get('ports');
  if (values === undefined) return undefined;
  if (values.length > 1) throw new BadRequest('Give "ports" once, as a comma-separated list: ports=22,80,443.');
  return parsePortList(values[0] ?? '', ctx.deps.config.maxPorts);
}

/**
 * The `udp` query parameter (UDP ports, in the same grammar as `ports`), `undefined` when
 * absent. Together with `ports` it may name at most `maxPorts` ports: each one is a probe.
 */
export function udpListParameter(ctx: Pick<RouteContext, 'query' | 'deps'>, tcpCount = 0): number[] | undefined {
  const values = ctx.query.get('udp');
  if (values === undefined) return undefined;
  if (values.length > 1) throw new BadRequest('Give "udp" once, as a comma-separated list: udp=53,51820.');
  const { maxPorts } = ctx.deps.config;
  const ports = parsePortList(values[0] ?? '', maxPorts, 'udp');
  if (tcpCount + ports.length > maxPorts) {
    throw new BadRequest(
      `${tcpCount} TCP and ${ports.length} UDP ports were asked for; at most ${maxPorts} ports are checked per request.`,
    );
  }
  return ports;
}

function countStates(results: readonly PortResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
}

/**
 * Everything a check refuses before it spends anything: an unreadable or non-dialable caller
 * (400, 403) and a malformed token (400). `HEAD` stops here, so its status is the GET's
 * wherever the GET's status does not depend on the budget or the probe.
 */
export function validateCheck(ctx: Omit<RouteContext, 'params'>): { source: SourceAddress; token: string | undefined } {
  const source = callerAddress(ctx);
  assertDialable(source, ctx.deps.policy);
  return { source, token: tokenParameter(ctx) };
}

/**
 * Checks `ports` (TCP) and `udpPorts` on the caller's own address; throws the service's typed
 * errors. Every port of either protocol is one probe against the caller's budget. Results list
 * the TCP ports first, then the UDP ones.
 */
export async function runCheck(
  ctx: Omit<RouteContext, 'params'>,
  ports: readonly number[],
  udpPorts: readonly number[] = [],
): Promise<CheckOutcome> {
  const { deps } = ctx;
  const { source, token } = validateCheck(ctx);
  ctx.logFields.ports = ports.length + udpPorts.length;
  if (udpPorts.length > 0) ctx.logFields.udpPorts = udpPorts.length;
  let timeoutMs = deps.config.probeTimeoutMs;
  let results: PortResult[];
  let rate: RateStatus | undefined;
  if (source.family === 6 && !deps.config.ipv6Egress) {
    // Nothing can be dialed, so nothing is spent: say so instead of a false "filtered".
    results = [
      ...ports.map((port): PortResult => ({ port, state: 'untestable', reason: 'no-ipv6-egress', rttMs: null })),
      ...udpPorts.map(
        (port): PortResult => ({ port, protocol: 'udp', state: 'untestable', reason: 'no-ipv6-egress', rttMs: null }),
      ),
    ];
  } else {
    rate = await deps.limiter(source, ports.length + udpPorts.length);
    timeoutMs = Math.min(timeoutMs, ctx.remainingMs());
    if (timeoutMs < MIN_PROBE_MS) {
      throw new Unavailable('The service ran out of time for this request; try again.', 1);
    }
    const greeting = token === undefined ? {} : { greeting: proofLine(token) };
    // Both protocols run at once, under the same deadline: a mixed check takes no longer.
    const [tcp, udp] = await Promise.all([
      ports.length === 0
        ? []
        : deps.probe(source, ports, {
            timeoutMs,
            // A host that rate-limits its ICMP errors may be asked past timeoutMs, never past this.
            checkDeadlineMs: ctx.remainingMs(),
            attempts: deps.config.probeAttempts,
            attemptSpacingMs: deps.attemptSpacingMs,
            blockedPorts: deps.blockedPorts,
            // Rare and never a verdict, but the one sign of a runtime misreporting a handshake.
            onUnproven: () => {
              ctx.logFields.unprovenConnects = Number(ctx.logFields.unprovenConnects ?? 0) + 1;
            },
            ...greeting,
          }),
      udpPorts.length === 0
        ? []
        : deps.udpProbe(source, udpPorts, {
            timeoutMs,
            datagrams: DEFAULT_UDP_DATAGRAMS,
            spacingMs: deps.attemptSpacingMs,
            blockedPorts: deps.blockedPorts,
            ...greeting,
          }),
    ]);
    results = [...tcp, ...udp];
  }
  ctx.logFields.states = countStates(results);
  return {
    body: {
      ip: source.address,
      family: source.family,
      checkedFrom: deps.config.checkedFrom,
      timeoutMs,
      egress: egressOf(deps.config),
      results,
    },
    rate,
  };
}

/**
 * That a check of the caller's address is not a view from the Internet, when the address is
 * not a public one (only the local server dials such addresses); `undefined` otherwise.
 */
export function localNotice(ctx: Pick<RouteContext, 'source' | 'deps'>): string | undefined {
  const { source } = ctx;
  if (source instanceof Error || source.range === 'unicast') return undefined;
  return localViewNotice(source.address, ctx.deps.config.internetCheckerUrl);
}
