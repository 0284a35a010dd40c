/**
 * The JSON bodies the API returns. The typed client, the widget and the OpenAPI document
 * use these same types, so a change here is a change everywhere.
 */
import type { PortResult } from '../core/probe.ts';

/** Where probes leave from. */
export interface Egress {
  /** True when every probe leaves from the listed addresses, so a firewall can allow them. */
  readonly fixed: boolean;
  /** The fixed source addresses or CIDR ranges; empty when not fixed. */
  readonly addresses: readonly string[];
  /** Whether this deployment can dial IPv6 callers. */
  readonly ipv6: boolean;
}

/** `GET /check/{port}` and `GET /check?ports=`. */
export interface CheckResponse {
  /** The address that was checked: always the address the request came from. */
  readonly ip: string;
  readonly family: 4 | 6;
  /** Where the probe ran (the AWS region, or `local`). */
  readonly checkedFrom: string;
  /** Per-port deadline used for this check. */
  readonly timeoutMs: number;
  readonly egress: Egress;
  readonly results: readonly PortResult[];
}

/** `GET /ip`. */
export interface IpResponse {
  readonly ip: string;
  readonly family: 4 | 6;
  /** The PTR name of the address, or `null` when it has none or the lookup timed out. */
  readonly reverseDns: string | null;
  readonly egress: Egress;
}

/** RFC 9457 problem details, as every error is answered. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Seconds to wait, on 429 and 503. */
  readonly retryAfterSeconds?: number;
  /** Quote it when reporting a problem; it finds the request's log line. */
  readonly requestId?: string;
}
