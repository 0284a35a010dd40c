/**
 * The UDP probe: one connected UDP socket per port, reported in Nmap's UDP-scan (`-sU`)
 * vocabulary. It knows nothing of HTTP or AWS, and shares the TCP probe's target type and its
 * `LocalProbeError`, so a failure of this machine takes the same 503 path.
 *
 * Why connected: `connect()` on a UDP socket makes the kernel deliver only the target's own
 * datagrams to it and, for the ICMP errors Linux calls "hard" (port-unreachable, the
 * administratively-prohibited codes, protocol-unreachable), report them on the socket as
 * ECONNREFUSED, EHOSTUNREACH or EACCES. Host- and net-unreachable (ICMP codes 0 and 1, ICMPv6
 * no-route and address-unreachable) are "soft": Linux reports them only with IP_RECVERR, which
 * node:dgram does not expose, so such a port reads `open|filtered` here where `nmap -sU` (raw
 * sockets) says `filtered`. The lab pins both.
 *
 * States, as `nmap -sU` gives them:
 * - `open / udp-response`: a datagram came back from the port;
 * - `closed / port-unreach`: ICMP port-unreachable (nothing listening, or a `reject`);
 * - `filtered / admin-prohibited` (and the other hard ICMP errors): a firewall said no;
 * - `open|filtered / no-response`: silence after every retry. A UDP service ignores what it does
 *   not understand, so silence cannot tell a silent service from a firewall that drops; the
 *   payloads (udp-payloads.ts) make the common services answer, and `dialback listen --udp`
 *   settles the rest.
 *
 * Retries and pacing: the same datagram is sent up to `datagrams` times, `spacingMs` apart,
 * within the first two thirds of the deadline (so the last one still has time to be answered),
 * each from a socket of its own, so an ICMP error names the datagram it answers. The schedule
 * and the rounds for a host that rate-limits its ICMP errors are the TCP probe's (pacing.ts):
 * a closed port behind Linux's default limit (a burst of 6, then one a second) is asked again at
 * the host's pace until it answers, for at most `RATE_LIMIT_EXTENSION_MS` past the deadline. The
 * first answer or ICMP error ends the port at once; every socket is closed on every path.
 */
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import type { UdpPortReason, UdpPortResult, UdpPortState } from '../contract/wire.ts';
import { type ErrnoVerdict, UDP_ERRNO_VERDICTS, verdictFor } from './errno-verdicts.ts';
import { errorCode, LocalProbeError } from './local-failure.ts';
import { type Dialer, type DialOutcome, type PacedCheckOptions, roundedMs, runPacedCheck } from './paced-check.ts';
import { attemptOffsets } from './pacing.ts';
import type { ProbeTarget } from './probe.ts';
import { payloadFor } from './udp-payloads.ts';

/** How one UDP check runs. */
export interface UdpProbeOptions {
  /** Per-port deadline; silence until then reads `open|filtered / no-response`. */
  readonly timeoutMs: number;
  /** Most datagrams sent per port (the first, then retries). */
  readonly datagrams: number;
  /** Time between two datagrams to the same port. */
  readonly spacingMs: number;
  /** Ports this checker cannot reach; reported `untestable` with nothing sent. */
  readonly blockedPorts?: readonly number[];
  /** Sent instead of the port's protocol payload: the dial-proof line. */
  readonly greeting?: string;
  /** Aborts every port; the probe then throws `LocalProbeError` with code `ABORTED`. */
  readonly signal?: AbortSignal;
  /** The request's own deadline, in ms from the check's start (see `ProbeOptions`). */
  readonly checkDeadlineMs?: number;
}

/** Probes `ports` over UDP on `target`; results in the order of `ports`. */
export type UdpProbe = (
  target: ProbeTarget,
  ports: readonly number[],
  options: UdpProbeOptions,
) => Promise<UdpPortResult[]>;

/**
 * Datagrams per port by default. With the service's 3 s deadline and 250 ms spacing all eight
 * leave in the first 1.75 s; an answering port reads open unless all eight are lost (1 in 256 at
 * 50% loss, measured in the lab: BENCHMARKS.md).
 */
export const DEFAULT_UDP_DATAGRAMS = 8;

/** The last datagram leaves before this share of the deadline, so its answer can still arrive. */
const SEND_WINDOW = 2 / 3;

/** Maps a UDP socket error code to a verdict, or `undefined` when it is a local failure. */
export function udpVerdictForError(code: string | undefined): ErrnoVerdict<UdpPortState, UdpPortReason> | undefined {
  return verdictFor(UDP_ERRNO_VERDICTS, code);
}

/** The datagram `udpProbePort` sends to `port`. */
export function udpDatagramFor(port: number, greeting: string | undefined): Buffer {
  return greeting === undefined ? payloadFor(port).bytes : Buffer.from(greeting, 'latin1');
}

/**
 * The pacing options of a UDP check: datagrams are its attempts, sent in the first two thirds;
 * the rest (deadline, blocked ports, signal) pass through as given.
 */
function udpPacing({ datagrams, spacingMs, greeting: _, ...shared }: UdpProbeOptions): PacedCheckOptions {
  return {
    ...shared,
    attempts: datagrams,
    attemptSpacingMs: spacingMs,
    attemptWindowMs: shared.timeoutMs * SEND_WINDOW,
  };
}

/** The send times of one port's scheduled datagrams, in ms from its start. */
export function udpSendSchedule(options: UdpProbeOptions): number[] {
  return attemptOffsets(udpPacing(options));
}

/**
 * UDP's dials: one connected socket each, sending one datagram and reading what answers it. A
 * dial reports once and nothing after its socket is closed. `newSocket` is for tests that must
 * show what a socket does after it is closed, which no real peer can produce on demand.
 */
export function udpDialer(
  target: ProbeTarget,
  greeting: string | undefined,
  newSocket: (type: dgram.SocketType) => dgram.Socket = (type) => dgram.createSocket({ type }),
): Dialer<UdpPortResult> {
  const result = (
    port: number,
    verdict: Pick<UdpPortResult, 'state' | 'reason'>,
    rttMs: number | null,
  ): UdpPortResult => ({
    port,
    protocol: 'udp',
    ...verdict,
    rttMs,
  });
  return {
    dial: (port, report) => {
      const datagram = udpDatagramFor(port, greeting);
      const socket = newSocket(target.family === 6 ? 'udp6' : 'udp4');
      let started = performance.now();
      let closed = false;
      const close = (): void => {
        closed = true;
        try {
          socket.close();
        } catch {
          // Already closed: by an earlier close, or a failed bind or connect.
        }
      };
      const once = (outcome: DialOutcome<UdpPortResult>): void => {
        if (closed) return;
        close();
        report(outcome);
      };
      const onError = (error: unknown): void => {
        const verdict = udpVerdictForError(errorCode(error));
        if (verdict === undefined) {
          once({ kind: 'local', error: new LocalProbeError(errorCode(error) ?? 'UNKNOWN', { cause: error }) });
        } else {
          once({ kind: 'answer', error: true, result: result(port, verdict, roundedMs(performance.now() - started)) });
        }
      };
      socket.on('error', onError);
      socket.on('message', () => {
        once({
          kind: 'answer',
          error: false,
          result: result(port, { state: 'open', reason: 'udp-response' }, roundedMs(performance.now() - started)),
        });
      });
      try {
        socket.connect(port, target.address, () => {
          if (closed) return;
          started = performance.now();
          socket.send(datagram, (error) => {
            if (error) onError(error);
          });
        });
      } catch (error) {
        queueMicrotask(() => onError(error));
      }
      return { close };
    },
    silence: (port) => result(port, { state: 'open|filtered', reason: 'no-response' }, null),
    untestable: (port) => result(port, { state: 'untestable', reason: 'blocked-at-source' }, null),
  };
}

/** Probes one UDP port; resolves with the first answer, ICMP error, or silence at the deadline. */
export async function udpProbePort(
  target: ProbeTarget,
  port: number,
  options: UdpProbeOptions,
): Promise<UdpPortResult> {
  const [result] = await udpProbePorts(target, [port], options);
  return result as UdpPortResult;
}

/** Probes all `ports` concurrently; a local failure on any port aborts the rest and is thrown. */
export const udpProbePorts: UdpProbe = (target, ports, options) =>
  runPacedCheck(ports, udpPacing(options), udpDialer(target, options.greeting));
