/**
 * Handler dependencies for tests that drive `createHandler` directly: a recording probe (the
 * injected dialer, so a test can see every address the service was asked to dial), an
 * in-memory limiter for tests about HTTP input, a real limiter on a DynamoDB endpoint for tests
 * about limits and faults, and a log that keeps its lines.
 */

import type { HandlerDeps } from '../../functions/api/context.ts';
import type { TcpPortResult as PortResult, UdpPortResult } from '../../functions/contract/wire.ts';
import { type Config, loadConfig } from '../../functions/core/config.ts';
import { createDynamoDbClient } from '../../functions/core/dynamodb-client.ts';
import { DEFAULT_ATTEMPT_SPACING_MS, type Probe, type ProbeTarget } from '../../functions/core/probe.ts';
import { createRateLimiter, type RateLimiter, rateWindows } from '../../functions/core/rate-limiter.ts';
import type { UdpProbe } from '../../functions/core/udp-probe.ts';
import { patientClient } from './table.ts';

/** One call the service made to its dialer. */
export interface ProbeCall {
  readonly target: ProbeTarget;
  readonly ports: readonly number[];
  /** The bytes the probe was told to send after the handshake (the dial-proof line), if any. */
  readonly greeting: string | undefined;
}

/** A probe that dials nothing: it records each call and answers every port `open`. */
export function recordingProbe(): { probe: Probe; calls: ProbeCall[] } {
  const calls: ProbeCall[] = [];
  const probe: Probe = async (target, ports, options) => {
    calls.push({
      target: { address: target.address, family: target.family },
      ports: [...ports],
      greeting: options.greeting,
    });
    return ports.map((port): PortResult => ({ port, state: 'open', reason: 'syn-ack', rttMs: 0.1 }));
  };
  return { probe, calls };
}

/** A limiter that never refuses and stores nothing; for tests where limits are not the subject. */
export function unlimited(config: Config): RateLimiter {
  const windows = rateWindows(config);
  return async () => ({
    windows: windows.map((window) => ({ window, remaining: window.limit, resetSeconds: window.seconds })),
  });
}

/**
 * The real limiter on a DynamoDB-compatible `endpoint`, with an injectable clock; `destroy`
 * frees its client. By default the client is the production one (short timeouts, one retry);
 * `patient` gives it long timeouts and no retry, for tests about atomicity rather than speed.
 */
export function tableLimiter(
  config: Config,
  endpoint: string,
  now: () => number,
  options: { patient?: boolean } = {},
): { limiter: RateLimiter; destroy: () => void } {
  const client = options.patient
    ? patientClient(endpoint, config.region)
    : createDynamoDbClient({ region: config.region, dynamodbEndpoint: endpoint });
  const limiter = createRateLimiter({
    client,
    tableName: config.tableName,
    windows: rateWindows(config),
    key: async () => 'a-test-key-of-enough-length',
    now,
    ...(options.patient ? { timeoutMs: 30_000 } : {}),
  });
  return { limiter, destroy: () => client.destroy() };
}

/** A UDP probe that sends nothing: it records each call and answers every port `open|filtered`. */
export function recordingUdpProbe(): { udpProbe: UdpProbe; calls: ProbeCall[] } {
  const calls: ProbeCall[] = [];
  const udpProbe: UdpProbe = async (target, ports, options) => {
    calls.push({
      target: { address: target.address, family: target.family },
      ports: [...ports],
      greeting: options.greeting,
    });
    return ports.map(
      (port): UdpPortResult => ({ port, protocol: 'udp', state: 'open|filtered', reason: 'no-response', rttMs: null }),
    );
  };
  return { udpProbe, calls };
}

/** Handler deps from an environment and overrides; defaults dial nothing and limit nothing. */
export function testDeps(env: Record<string, string>, overrides: Partial<HandlerDeps> = {}): HandlerDeps {
  const config = loadConfig(env);
  return {
    config,
    probe: recordingProbe().probe,
    udpProbe: recordingUdpProbe().udpProbe,
    limiter: unlimited(config),
    reverseDns: async () => null,
    log: () => undefined,
    policy: 'public-only',
    blockedPorts: [],
    windows: rateWindows(config),
    attemptSpacingMs: DEFAULT_ATTEMPT_SPACING_MS,
    ...overrides,
  };
}
