/**
 * Wires the real dependencies from a validated config. The Lambda entry and the local server
 * both call this; only the target policy, blocked ports and key source differ between them.
 */
import type { Config } from '../core/config.ts';
import { createDynamoDbClient } from '../core/dynamodb-client.ts';
import { createLog, type Log } from '../core/log.ts';
import type { HolderSource } from '../core/network-holder.ts';
import { DEFAULT_ATTEMPT_SPACING_MS, probePorts } from '../core/probe.ts';
import { createRateLimiter, rateWindows } from '../core/rate-limiter.ts';
import { createReverseDns } from '../core/reverse-dns.ts';
import type { TargetPolicy } from '../core/source-address.ts';
import { udpProbePorts } from '../core/udp-probe.ts';
import type { WebAssets } from '../web/assets.ts';
import type { HandlerDeps } from './context.ts';

/** How long `/ip` waits for a PTR record before answering `null`. */
const REVERSE_DNS_TIMEOUT_MS = 800;

/** What differs between hosting modes. */
export interface HostingOptions {
  readonly policy: TargetPolicy;
  readonly blockedPorts: readonly number[];
  /** Yields the HMAC key for caller hashes. */
  readonly key: () => Promise<string>;
  /** Warm the table client beside the first key read (a cold Lambda; see rate-limiter.ts). */
  readonly warmUpTable?: boolean;
  readonly log?: Log;
  /** The compiled browser code; see `functions/web/assets.ts` for how each host gets it. */
  readonly webAssets?: () => Promise<WebAssets | undefined>;
  /** The IP-to-network dataset; see `functions/core/network-holder.ts` for how each host gets it. */
  readonly holders?: HolderSource;
  /** How callers reach this API; `https` unless said otherwise. */
  readonly scheme?: 'http' | 'https';
}

/** Builds the production dependencies. */
export function createDeps(config: Config, hosting: HostingOptions): HandlerDeps {
  const windows = rateWindows(config);
  const now = (): number => Date.now();
  return {
    config,
    probe: probePorts,
    udpProbe: udpProbePorts,
    limiter: createRateLimiter({
      client: createDynamoDbClient(config),
      tableName: config.tableName,
      windows,
      key: hosting.key,
      now,
      warmUp: hosting.warmUpTable === true,
    }),
    reverseDns: createReverseDns({ timeoutMs: REVERSE_DNS_TIMEOUT_MS }),
    log: hosting.log ?? createLog(),
    policy: hosting.policy,
    blockedPorts: hosting.blockedPorts,
    windows,
    attemptSpacingMs: DEFAULT_ATTEMPT_SPACING_MS,
    ...(hosting.webAssets === undefined ? {} : { webAssets: hosting.webAssets }),
    ...(hosting.holders === undefined ? {} : { holders: hosting.holders }),
    ...(hosting.scheme === undefined ? {} : { scheme: hosting.scheme }),
  };
}
