/**
 * Builds the real handler for tests: real config parsing, a real limiter on dynalite, and a
 * probe that records every target it was asked to dial (and answers from real loopback
 * sockets only when the test says so).
 */

import type { HandlerDeps } from '../../functions/api/context.ts';
import { createDeps } from '../../functions/api/deps.ts';
import { createHandler, type Handler } from '../../functions/api/handler.ts';
import type { TcpPortResult as PortResult, UdpPortResult } from '../../functions/contract/wire.ts';
import { loadConfig } from '../../functions/core/config.ts';
import type { Log } from '../../functions/core/log.ts';
import type { HolderSource } from '../../functions/core/network-holder.ts';
import type { Probe, ProbeTarget } from '../../functions/core/probe.ts';
import type { ReverseDns } from '../../functions/core/reverse-dns.ts';
import type { TargetPolicy } from '../../functions/core/source-address.ts';
import { tableLimiter } from './handler-deps.ts';
import { expectDocumented, fromHandler, specFor } from './openapi.ts';

/** One recorded probe call. */
export interface ProbeCall {
  readonly target: ProbeTarget;
  readonly ports: readonly number[];
  readonly timeoutMs: number;
  readonly checkDeadlineMs: number | undefined;
  /** Present for the UDP probe's calls. */
  readonly protocol?: 'udp';
}

/** A handler plus what it did. */
export interface Harness {
  readonly handler: Handler;
  readonly probeCalls: ProbeCall[];
  readonly logLines: Record<string, unknown>[];
}

/** Options for `buildHarness`. */
export interface HarnessOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly env?: Record<string, string>;
  readonly policy?: TargetPolicy;
  /** Answers the probe; defaults to every port open. */
  readonly probe?: Probe;
  readonly now?: () => number;
  readonly blockedPorts?: readonly number[];
  /** Answers reverse-DNS lookups; defaults to none (never a real DNS query from tests). */
  readonly reverseDns?: ReverseDns;
  /** The IP-to-network dataset; defaults to none (`/ip` answers null holder fields). */
  readonly holders?: HolderSource;
}

/** Builds the handler with a recording probe. */
export function buildHarness(options: HarnessOptions): Harness {
  const config = loadConfig({ DYNAMODB_ENDPOINT: options.endpoint, TABLE_NAME: options.tableName, ...options.env });
  const probeCalls: ProbeCall[] = [];
  const logLines: Record<string, unknown>[] = [];
  const answer: Probe =
    options.probe ??
    (async (_target, ports) =>
      ports.map((port): PortResult => ({ port, state: 'open', reason: 'syn-ack', rttMs: 1.5 })));
  const log: Log = (level, message, fields) => {
    logLines.push({ level, message, ...fields });
  };
  const base = createDeps(config, {
    policy: options.policy ?? 'public-only',
    blockedPorts: options.blockedPorts ?? [],
    key: async () => 'harness-key-0123456789',
    log,
    ...(options.holders === undefined ? {} : { holders: options.holders }),
  });
  const deps: HandlerDeps = {
    ...base,
    probe: async (target, ports, probeOptions) => {
      probeCalls.push({
        target,
        ports: [...ports],
        timeoutMs: probeOptions.timeoutMs,
        checkDeadlineMs: probeOptions.checkDeadlineMs,
      });
      return answer(target, ports, probeOptions);
    },
    // UDP is recorded too and never sent: the harness's callers are documentation addresses.
    udpProbe: async (target, ports, probeOptions) => {
      probeCalls.push({
        target,
        ports: [...ports],
        timeoutMs: probeOptions.timeoutMs,
        checkDeadlineMs: undefined,
        protocol: 'udp',
      });
      return ports.map(
        (port): UdpPortResult => ({ port, protocol: 'udp', state: 'open', reason: 'udp-response', rttMs: 1.5 }),
      );
    },
    reverseDns: options.reverseDns ?? (async () => null),
    ...(options.now === undefined ? {} : { limiter: tableLimiter(config, options.endpoint, options.now).limiter }),
  };
  // Every response the handler tests receive must be one the OpenAPI document describes.
  const doc = specFor(options.env ?? {});
  const inner = createHandler(deps);
  const handler: Handler = async (event, context) => {
    const response = await inner(event, context);
    const url = `${event.rawPath}${event.rawQueryString ? `?${event.rawQueryString}` : ''}`;
    expectDocumented(doc, event.requestContext.http.method, url, fromHandler(response));
    return response;
  };
  return { handler, probeCalls, logLines };
}
