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
 * Retries: the same datagram is sent up to `datagrams` times, `spacingMs` apart, within the
 * first two thirds of the deadline (so the last one still has time to be answered); the first
 * answer or ICMP error ends the port at once and closes its socket. The socket is the only
 * resource and is closed on every path: a fixed deadline timer, nothing held after the verdict.
 */
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { LocalProbeError, type ProbeTarget } from './probe.ts';
import { errorCode, probeAll } from './probe-all.ts';
import { payloadFor } from './udp-payloads.ts';

/** Nmap's UDP port states, plus `untestable` for ports the checker itself cannot reach. */
export type UdpPortState = 'open' | 'closed' | 'filtered' | 'open|filtered' | 'untestable';

/** Why a UDP port got its state; Nmap's `--reason` words for `-sU`. */
export type UdpPortReason =
  | 'udp-response'
  | 'port-unreach'
  | 'admin-prohibited'
  | 'net-unreach'
  | 'proto-unreach'
  | 'dest-unreach'
  | 'no-response'
  | 'blocked-at-source'
  | 'no-ipv6-egress';

/** The verdict for one UDP port; `rttMs` is from the first datagram to the answer, `null` without one. */
export interface UdpPortResult {
  readonly port: number;
  readonly protocol: 'udp';
  readonly state: UdpPortState;
  readonly reason: UdpPortReason;
  readonly rttMs: number | null;
}

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

type UdpVerdict = Pick<UdpPortResult, 'state' | 'reason'>;

/**
 * Socket errors a connected UDP socket reports for ICMP errors from the network. On IPv4 the
 * only hard ICMP codes that become EHOSTUNREACH are the prohibited ones (9/10/13 and the
 * precedence codes), on IPv6 administratively-prohibited, policy-fail and reject-route become
 * EACCES: both are a firewall saying no, as Nmap's `admin-prohibited`. Anything else is a local
 * failure: the service fails closed rather than guess.
 */
const UDP_REMOTE_ERRORS: Readonly<Record<string, UdpVerdict>> = {
  ECONNREFUSED: { state: 'closed', reason: 'port-unreach' },
  EHOSTUNREACH: { state: 'filtered', reason: 'admin-prohibited' },
  EACCES: { state: 'filtered', reason: 'admin-prohibited' },
  ENETUNREACH: { state: 'filtered', reason: 'net-unreach' },
  ENOPROTOOPT: { state: 'filtered', reason: 'proto-unreach' },
  ENONET: { state: 'filtered', reason: 'dest-unreach' },
  EHOSTDOWN: { state: 'filtered', reason: 'dest-unreach' },
};

/** Maps a UDP socket error code to a verdict, or `undefined` when it is a local failure. */
export function udpVerdictForError(code: string | undefined): UdpVerdict | undefined {
  return code === undefined ? undefined : UDP_REMOTE_ERRORS[code];
}

/** The datagram `udpProbePort` sends to `port`. */
export function udpDatagramFor(port: number, greeting: string | undefined): Buffer {
  return greeting === undefined ? payloadFor(port).bytes : Buffer.from(greeting, 'latin1');
}

/** The send times of one port's datagrams, in ms from its start. */
export function udpSendSchedule(options: Pick<UdpProbeOptions, 'timeoutMs' | 'datagrams' | 'spacingMs'>): number[] {
  const offsets: number[] = [0];
  for (let i = 1; i < options.datagrams; i++) {
    const at = i * options.spacingMs;
    if (at >= options.timeoutMs * SEND_WINDOW) break;
    offsets.push(at);
  }
  return offsets;
}

/** Probes one UDP port; resolves with the first answer, ICMP error, or silence at the deadline. */
export function udpProbePort(target: ProbeTarget, port: number, options: UdpProbeOptions): Promise<UdpPortResult> {
  const result = (verdict: UdpVerdict, rttMs: number | null): UdpPortResult => ({
    port,
    protocol: 'udp',
    ...verdict,
    rttMs,
  });
  if (options.blockedPorts?.includes(port)) {
    return Promise.resolve(result({ state: 'untestable', reason: 'blocked-at-source' }, null));
  }
  const datagram = udpDatagramFor(port, options.greeting);
  return new Promise<UdpPortResult>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    let started = 0;
    const socket = dgram.createSocket({ type: target.family === 6 ? 'udp6' : 'udp4' });

    const finish = (outcome: { result: UdpPortResult } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // Already closed by a failed bind or connect: nothing left to release.
      }
      if ('result' in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    const onAbort = (): void => finish({ error: new LocalProbeError('ABORTED') });
    const onError = (error: unknown): void => {
      const code = errorCode(error);
      const verdict = udpVerdictForError(code);
      if (verdict === undefined) finish({ error: new LocalProbeError(code ?? 'UNKNOWN', { cause: error }) });
      else finish({ result: result(verdict, Math.round((performance.now() - started) * 10) / 10) });
    };
    const send = (): void => {
      if (settled) return;
      socket.send(datagram, (error) => {
        if (error) onError(error);
      });
    };

    socket.on('error', onError);
    socket.on('message', () => {
      finish({
        result: result({ state: 'open', reason: 'udp-response' }, Math.round((performance.now() - started) * 10) / 10),
      });
    });
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(
      setTimeout(
        () => finish({ result: result({ state: 'open|filtered', reason: 'no-response' }, null) }),
        options.timeoutMs,
      ),
    );
    try {
      socket.connect(port, target.address, () => {
        if (settled) return;
        started = performance.now();
        for (const at of udpSendSchedule(options)) {
          if (at === 0) send();
          else timers.push(setTimeout(send, at));
        }
      });
    } catch (error) {
      finish({ error: new LocalProbeError(errorCode(error) ?? 'UNKNOWN', { cause: error }) });
    }
  });
}

/** Probes all `ports` concurrently; a local failure on any port aborts the rest and is thrown. */
export const udpProbePorts: UdpProbe = (target, ports, options) =>
  probeAll(ports, options.signal, (port, signal) => udpProbePort(target, port, { ...options, signal }));
