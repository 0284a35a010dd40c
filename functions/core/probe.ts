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
 * A kernel that has `net.ipv4.tcp_syn_linear_timeouts` retries linearly at first: up to 3 SYNs
 * per attempt, 14 measured per silent port on this project's machines (the amplification test
 * counts them); SECURITY.md states the bound.
 *
 * A host that rejects with ICMP errors sends them through a rate limit, so a check of many
 * rejected ports can leave some silent at the deadline; the pacing (pacing.ts, shared with the
 * UDP probe) then keeps asking those at the host's pace. A port silent on a host that sent no
 * error keeps the deadline.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { TcpPortResult as PortResult } from '../contract/wire.ts';
import { type ErrnoVerdict, TCP_ERRNO_VERDICTS, verdictFor } from './errno-verdicts.ts';
import { errorCode, LocalProbeError } from './local-failure.ts';
import { type Dialer, type DialOutcome, roundedMs, runPacedCheck } from './paced-check.ts';

export { RATE_LIMIT_EXTENSION_MS, RATE_LIMIT_QUIET_MS, RATE_LIMIT_ROUND_MS } from './pacing.ts';
export { LocalProbeError };

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
  /**
   * The request's own deadline, in ms from the check's start: a check held past `timeoutMs`
   * for a host that rate-limits its ICMP errors never runs beyond it. Default: no deadline
   * but the extension's own bound, `timeoutMs + RATE_LIMIT_EXTENSION_MS`.
   */
  readonly checkDeadlineMs?: number;
  /**
   * Told of each dial the runtime reported connected while the kernel held no connection to
   * the target (`handshakeWith`): no answer, so the port's other attempts decide, but an event
   * that must be seen where it happens (the service logs it, the lab prints it). `socket` is
   * still open during the call, so a caller can ask the kernel what it held; it is destroyed after.
   */
  readonly onUnproven?: (port: number, socket: net.Socket) => void;
}

/** Dials `target` on `ports` concurrently; results are in the order of `ports`. */
export type Probe = (target: ProbeTarget, ports: readonly number[], options: ProbeOptions) => Promise<PortResult[]>;

/**
 * Default spacing between attempts: above most round trips, so an open port usually costs one
 * SYN, and short enough that all attempts start in the first second (see the header comment).
 */
export const DEFAULT_ATTEMPT_SPACING_MS = 250;

/** How long a dial-proof socket may live after the handshake, whatever the peer does. */
const GREETING_TIMEOUT_MS = 2000;

type Verdict = Pick<PortResult, 'state' | 'reason'>;

/** Maps a socket error code to a port verdict, or `undefined` when it is a local failure. */
export function verdictForError(code: string | undefined): ErrnoVerdict | undefined {
  return verdictFor(TCP_ERRNO_VERDICTS, code);
}

/** `address` written one way per address, so two spellings of one address compare equal. */
function canonical(address: string | undefined): string | undefined {
  return address !== undefined && ipaddr.isValid(address) ? ipaddr.process(address).toNormalizedString() : undefined;
}

/**
 * Whether `socket`, reported connected, really holds a connection to `target`:`port`. `open` is
 * the one verdict that must never be wrong, and the runtime's 'connect' only says that the
 * socket became writable with no pending error; the kernel's own peer (getpeername) is the
 * handshake's proof. A socket that was closed under the runtime (its error already taken) has
 * no peer and proves nothing: it is no answer, and the port's other attempts decide.
 */
export function handshakeWith(
  socket: Pick<net.Socket, 'remoteAddress' | 'remotePort'>,
  target: ProbeTarget,
  port: number,
): boolean {
  const peer = canonical(socket.remoteAddress);
  return peer !== undefined && peer === canonical(target.address) && socket.remotePort === port;
}

/** An answer that a host's ICMP rate limit governs: an error from the path or the host, not a handshake. */
export function isErrorAnswer(verdict: Verdict): boolean {
  return verdict.state !== 'open' && verdict.reason !== 'no-response';
}

/**
 * The winner writes its one line and closes on its own, under a fixed deadline (a plain timer:
 * an idle timer is reset by every byte a trickling peer sends). The probe listens to nothing,
 * so the first byte received ends the socket at once. A later error (a reset) meets the dial's
 * own error listener, which stays for the socket's life.
 */
function sendGreeting(socket: net.Socket, greeting: string): void {
  const deadline = setTimeout(() => socket.destroy(), GREETING_TIMEOUT_MS);
  socket.once('close', () => clearTimeout(deadline));
  socket.once('data', () => socket.destroy());
  socket.end(greeting);
}

/**
 * TCP's dials: one connect() each, read in Nmap's connect-scan words. Each dial reports once,
 * whatever its socket emits after. `newSocket` is for tests that must show a socket the runtime
 * misreports, which no real peer can produce.
 */
export function tcpDialer(
  target: ProbeTarget,
  greeting: string | undefined,
  newSocket: () => net.Socket = () => new net.Socket(),
  onUnproven?: ProbeOptions['onUnproven'],
): Dialer<PortResult> {
  return {
    dial: (port, report) => {
      const started = performance.now();
      const socket = newSocket();
      let reported = false;
      const once = (outcome: DialOutcome<PortResult>): void => {
        if (reported) return;
        reported = true;
        report(outcome);
      };
      const local = (error: unknown): void =>
        once({ kind: 'local', error: new LocalProbeError(errorCode(error) ?? 'UNKNOWN', { cause: error }) });
      socket.once('connect', () => {
        if (!handshakeWith(socket, target, port)) {
          try {
            onUnproven?.(port, socket);
          } finally {
            // Whatever the hook does, this dial ends here, as no answer.
            socket.destroy();
            once({ kind: 'void' });
          }
          return;
        }
        once({
          kind: 'answer',
          error: false,
          result: { port, state: 'open', reason: 'syn-ack', rttMs: roundedMs(performance.now() - started) },
          claim: (won) => {
            if (won && greeting !== undefined) sendGreeting(socket, greeting);
            else socket.destroy();
          },
        });
      });
      // `on`, not `once`: a reset after the dial-proof line must not be an unhandled error.
      socket.on('error', (error) => {
        socket.destroy();
        const verdict = verdictForError(errorCode(error));
        if (verdict === undefined) {
          local(error);
          return;
        }
        const rttMs = verdict.reason === 'no-response' ? null : roundedMs(performance.now() - started);
        once({ kind: 'answer', error: isErrorAnswer(verdict), result: { port, ...verdict, rttMs } });
      });
      try {
        socket.connect({ host: target.address, port, family: target.family });
      } catch (error) {
        // Reported after the engine has registered the dial, like the asynchronous errors.
        queueMicrotask(() => local(error));
      }
      return { close: () => socket.destroy() };
    },
    silence: (port, hint) => ({
      port,
      state: 'filtered',
      reason: 'no-response',
      rttMs: null,
      ...(hint === undefined ? {} : { hint }),
    }),
    untestable: (port) => ({ port, state: 'untestable', reason: 'blocked-at-source', rttMs: null }),
  };
}

/**
 * Probes all `ports` of one check concurrently; results are in the order of `ports`. Every
 * port runs the schedule of the header comment under the shared pacing (pacing.ts): `attempts`
 * sockets `attemptSpacingMs` apart, the first answer wins, silence until `timeoutMs` reads
 * `filtered / no-response`, and a host that rate-limits its ICMP errors is asked at its pace
 * for up to `RATE_LIMIT_EXTENSION_MS` more (the hint says so when silence remains).
 */
export const probePorts: Probe = (target, ports, options) =>
  runPacedCheck(ports, options, tcpDialer(target, options.greeting, undefined, options.onUnproven));

/** Probes one port: `probePorts` with a single port. */
export async function probePort(target: ProbeTarget, port: number, options: ProbeOptions): Promise<PortResult> {
  const [result] = await probePorts(target, [port], options);
  return result as PortResult;
}
