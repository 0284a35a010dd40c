/**
 * The probe: TCP `connect()` to one address on some ports, reported in Nmap's connect-scan
 * vocabulary (DESIGN §2). It knows nothing of HTTP or AWS. Outcomes are values; only a failure
 * of this machine (out of sockets, no local address) is thrown, as `LocalProbeError`, because
 * it says nothing about the caller's port and must never be shown as a port state.
 *
 * One lost SYN must not make an open port look filtered. Linux retransmits a SYN only after a
 * 1 s initial RTO, then doubles it, so within a 3 s deadline one socket sends two SYNs that can
 * still be answered. The probe therefore starts `attempts` sockets a little apart; the first
 * definite answer (handshake, RST or ICMP error) wins and the rest are dropped unsent. Only
 * silence from all of them until the deadline reads `filtered / no-response`.
 *
 * The default schedule (5 attempts, 250 ms apart) comes from the lab (test/lab/loss.test.ts,
 * BENCHMARKS.md): a filtered port costs 2 SYNs per attempt, 10 in all, and an open port reads
 * open unless all 10 are lost: 99.9% of the time at 50% loss. Three attempts (6 SYNs) read
 * open only 98.4% of the time there; four (8 SYNs) 99.6%, too thin a margin. An answered port
 * costs one SYN when its round trip is under the 250 ms spacing, and every attempt starts in
 * the first second, so the last SYNs (at 2 s) still leave a slow path 1 s to answer.
 * Linux 6.5+ retries linearly at first (`tcp_syn_linear_timeouts`): up to 3 SYNs per attempt,
 * 14 measured per silent port on this project's machines; SECURITY.md states the bound.
 */
import net from 'node:net';
import { errorCode, probeAll } from './probe-all.ts';

/** Nmap's port states, plus `untestable` for ports the checker itself cannot reach. */
export type PortState = 'open' | 'closed' | 'filtered' | 'untestable';

/** Why a port got its state; the same words as Nmap's `--reason` where Nmap has them. */
export type PortReason =
  | 'syn-ack'
  | 'conn-refused'
  | 'no-response'
  | 'host-unreach'
  | 'net-unreach'
  | 'admin-prohibited'
  | 'proto-unreach'
  | 'dest-unreach'
  | 'blocked-at-source'
  | 'no-ipv6-egress';

/** The verdict for one port. `rttMs` is the winning attempt's round trip, `null` without an answer. */
export interface PortResult {
  readonly port: number;
  readonly state: PortState;
  readonly reason: PortReason;
  readonly rttMs: number | null;
}

/** The one address to dial. */
export interface ProbeTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

/** How one check runs. */
export interface ProbeOptions {
  /** Per-port deadline; silence until then reads `filtered / no-response`. */
  readonly timeoutMs: number;
  /** Connect attempts per port (separate sockets), started `attemptSpacingMs` apart. */
  readonly attempts: number;
  readonly attemptSpacingMs: number;
  /** Ports this checker cannot reach (e.g. 25 from Lambda); reported `untestable` undialed. */
  readonly blockedPorts?: readonly number[];
  /**
   * Bytes to write once after the handshake before closing (the dial-proof line). Without it
   * the probe sends nothing at all.
   */
  readonly greeting?: string;
  /** Aborts every attempt; the probe then throws `LocalProbeError` with code `ABORTED`. */
  readonly signal?: AbortSignal;
}

/** Dials `target` on `ports` concurrently; results are in the order of `ports`. */
export type Probe = (target: ProbeTarget, ports: readonly number[], options: ProbeOptions) => Promise<PortResult[]>;

/** A failure of this machine, not of the caller's port (`EMFILE`, `ENOBUFS`, `EADDRNOTAVAIL`, …). */
export class LocalProbeError extends Error {
  override readonly name = 'LocalProbeError';
  constructor(
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(`the checker could not open a connection (${code})`, options);
  }
}

/**
 * Default spacing between attempts: above most round trips, so an open port usually costs one
 * SYN, and short enough that all attempts start in the first second (see the header comment).
 */
export const DEFAULT_ATTEMPT_SPACING_MS = 250;

/** How long a dial-proof line may take to be written before the socket is cut. */
const GREETING_TIMEOUT_MS = 2000;

type Verdict = Pick<PortResult, 'state' | 'reason'>;

/**
 * Errors the kernel reports for answers from the network (DESIGN §2). Linux maps ICMP
 * port-unreachable to ECONNREFUSED, which is why a REJECT reads "closed", as in `nmap -sT`.
 * Anything not listed is treated as a local failure: the service fails closed rather than guess.
 */
const REMOTE_ERRORS: Readonly<Record<string, Verdict>> = {
  ECONNREFUSED: { state: 'closed', reason: 'conn-refused' },
  EHOSTUNREACH: { state: 'filtered', reason: 'host-unreach' },
  ENETUNREACH: { state: 'filtered', reason: 'net-unreach' },
  EACCES: { state: 'filtered', reason: 'admin-prohibited' },
  ENOPROTOOPT: { state: 'filtered', reason: 'proto-unreach' },
  ENONET: { state: 'filtered', reason: 'dest-unreach' },
  EHOSTDOWN: { state: 'filtered', reason: 'no-response' },
  ETIMEDOUT: { state: 'filtered', reason: 'no-response' },
};

/** Maps a socket error code to a port verdict, or `undefined` when it is a local failure. */
export function verdictForError(code: string | undefined): Verdict | undefined {
  return code === undefined ? undefined : REMOTE_ERRORS[code];
}

function rounded(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Probes one port with staggered attempts; resolves with the first definite verdict. */
export function probePort(target: ProbeTarget, port: number, options: ProbeOptions): Promise<PortResult> {
  if (options.blockedPorts?.includes(port)) {
    return Promise.resolve({ port, state: 'untestable', reason: 'blocked-at-source', rttMs: null });
  }
  return new Promise<PortResult>((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    const timers: NodeJS.Timeout[] = [];
    let settled = false;

    const finish = (outcome: { result: PortResult } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      // destroy() on a connected socket sends a FIN and nothing else; on a pending one it
      // abandons the handshake without sending anything further.
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      options.signal?.removeEventListener('abort', onAbort);
      if ('result' in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    const onAbort = (): void => finish({ error: new LocalProbeError('ABORTED') });

    const attempt = (): void => {
      if (settled) return;
      const started = performance.now();
      const socket = new net.Socket();
      sockets.add(socket);
      socket.once('connect', () => {
        const rttMs = rounded(performance.now() - started);
        if (options.greeting !== undefined && !settled) {
          // The winner writes its one line and closes on its own; a bound keeps a peer that
          // never reads from holding the socket.
          sockets.delete(socket);
          socket.setTimeout(GREETING_TIMEOUT_MS, () => socket.destroy());
          socket.on('error', () => socket.destroy());
          socket.end(options.greeting);
        }
        finish({ result: { port, state: 'open', reason: 'syn-ack', rttMs } });
      });
      socket.once('error', (error) => {
        sockets.delete(socket);
        socket.destroy();
        const code = errorCode(error);
        const verdict = verdictForError(code);
        if (verdict === undefined) {
          finish({ error: new LocalProbeError(code ?? 'UNKNOWN', { cause: error }) });
        } else {
          const rttMs = verdict.reason === 'no-response' ? null : rounded(performance.now() - started);
          finish({ result: { port, ...verdict, rttMs } });
        }
      });
      try {
        socket.connect({ host: target.address, port, family: target.family });
      } catch (error) {
        finish({ error: new LocalProbeError(errorCode(error) ?? 'UNKNOWN', { cause: error }) });
      }
    };

    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(
      setTimeout(
        () => finish({ result: { port, state: 'filtered', reason: 'no-response', rttMs: null } }),
        options.timeoutMs,
      ),
    );
    attempt();
    for (let i = 1; i < options.attempts; i++) {
      const at = i * options.attemptSpacingMs;
      if (at < options.timeoutMs) timers.push(setTimeout(attempt, at));
    }
  });
}

/**
 * Probes all `ports` concurrently. If any port hits a local failure, every other attempt is
 * dropped at once and the failure is thrown: a half-answered check is not an answer.
 */
export const probePorts: Probe = (target, ports, options) =>
  probeAll(ports, options.signal, (port, signal) => probePort(target, port, { ...options, signal }));
