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
 *
 * A host that rejects with ICMP errors sends them through a rate limit, so a check of many
 * rejected ports can leave some silent at the deadline; `probePorts` then keeps asking those at
 * the host's pace (see there). A port silent on a host that sent no error keeps the deadline.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { errorCode } from './probe-all.ts';

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

/**
 * Why a verdict deserves a second look. `icmp-rate-limit`: the port read filtered by silence
 * while the same host was answering other ports with ICMP errors at the pace of its rate limit,
 * so the silence may be an error the host had no budget left to send.
 */
export type PortHint = 'icmp-rate-limit';

/** The verdict for one port. `rttMs` is the winning attempt's round trip, `null` without an answer. */
export interface PortResult {
  readonly port: number;
  readonly state: PortState;
  readonly reason: PortReason;
  readonly rttMs: number | null;
  /** Present only when the verdict deserves a second look (see `PortHint`). */
  readonly hint?: PortHint;
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
  /**
   * The request's own deadline, in ms from the check's start: a check held past `timeoutMs`
   * for a host that rate-limits its ICMP errors never runs beyond it. Default: no deadline
   * but the extension's own bound, `timeoutMs + RATE_LIMIT_EXTENSION_MS`.
   */
  readonly checkDeadlineMs?: number;
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

/** How long a dial-proof socket may live after the handshake, whatever the peer does. */
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

/**
 * Time after the last ICMP error (or refusal) from the host beyond which it is taken to have
 * stopped answering: Linux's per-destination limit pays one error a second on IPv4 (faster on
 * IPv6), so a host still rate-limiting answers within 1 s plus one round and a round trip.
 */
export const RATE_LIMIT_QUIET_MS = 1500;

/** How far past the per-port deadline a check may run for a rate-limiting host, at most. */
export const RATE_LIMIT_EXTENSION_MS = 4000;

/** Spacing of the extension's rounds: one fresh SYN per silent port and one to the canary. */
export const RATE_LIMIT_ROUND_MS = 250;

/**
 * How long a round's socket lives: under the kernel's 1 s initial RTO, so it sends exactly one
 * SYN (the SYN count stays ours to bound), and long enough for any ordinary round trip.
 */
const ROUND_SOCKET_LIFE_MS = 900;

/** Where an extension round's socket stood in its round (see `probePorts`). */
interface RoundTag {
  readonly round: number;
  readonly position: number;
}

/**
 * An answer to one socket: a verdict with its round trip, and the socket itself when open; or
 * `void`, a socket that claimed a connection it cannot show (see `handshakeWith`).
 */
type DialOutcome =
  | { readonly kind: 'answer'; readonly verdict: Verdict; readonly rttMs: number | null; readonly socket?: net.Socket }
  | { readonly kind: 'local'; readonly error: LocalProbeError }
  | { readonly kind: 'void' };

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

/** One connect() to `port`; `onOutcome` is called at most once. The caller destroys the socket. */
function dial(target: ProbeTarget, port: number, onOutcome: (outcome: DialOutcome) => void): net.Socket {
  const started = performance.now();
  const socket = new net.Socket();
  socket.once('connect', () => {
    if (!handshakeWith(socket, target, port)) {
      socket.destroy();
      onOutcome({ kind: 'void' });
      return;
    }
    onOutcome({
      kind: 'answer',
      verdict: { state: 'open', reason: 'syn-ack' },
      rttMs: rounded(performance.now() - started),
      socket,
    });
  });
  socket.once('error', (error) => {
    socket.destroy();
    const code = errorCode(error);
    const verdict = verdictForError(code);
    if (verdict === undefined) {
      onOutcome({ kind: 'local', error: new LocalProbeError(code ?? 'UNKNOWN', { cause: error }) });
    } else {
      const rttMs = verdict.reason === 'no-response' ? null : rounded(performance.now() - started);
      onOutcome({ kind: 'answer', verdict, rttMs });
    }
  });
  try {
    socket.connect({ host: target.address, port, family: target.family });
  } catch (error) {
    // Reported after the caller has registered the socket, like the asynchronous errors.
    queueMicrotask(() =>
      onOutcome({ kind: 'local', error: new LocalProbeError(errorCode(error) ?? 'UNKNOWN', { cause: error }) }),
    );
  }
  return socket;
}

/** An answer that a host's ICMP rate limit governs: an error from the path or the host, not a handshake. */
function isErrorAnswer(verdict: Verdict): boolean {
  return verdict.state !== 'open' && verdict.reason !== 'no-response';
}

/** `items` rotated left by `by`, so each item takes its turn at the front. */
function rotated<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Probes all `ports` of one check concurrently; results are in the order of `ports`.
 *
 * Every port runs the schedule of the header comment: `attempts` sockets `attemptSpacingMs`
 * apart, the first answer wins, silence until `timeoutMs` reads `filtered / no-response`. Each
 * attempt goes out for all silent ports at once, in an order that rotates, so that which
 * port's SYN left first is known (see below).
 *
 * A host that rejects with ICMP errors sends them through its rate limit (Linux 6.18, both
 * families: a burst of 6 per destination, then one a second), so ten rejected ports asked at
 * once leave some unanswered for seconds. Once the host answers a port with an error no sooner
 * than the last scheduled attempt (so at the pace of a limit, not at once as a host without one
 * does) while others are silent, the check also runs rounds (`RATE_LIMIT_ROUND_MS` apart): one fresh
 * SYN per silent port, in rotating order, then one to the port whose error came last (the
 * canary, known to answer). The host spends its next error on the first rejected port of the
 * round, so:
 *  - a rejected port gets its real answer as soon as the limit allows one;
 *  - an error to a later socket of the same round (or of the same batch of attempts, answered
 *    before any retransmission) proves the host had an error to spare when the earlier ports'
 *    SYNs arrived: those ports are plain drops, and keep the deadline;
 *  - at the deadline, ports not so cleared go on being asked while the host keeps answering
 *    (an error within `RATE_LIMIT_QUIET_MS`), for at most `RATE_LIMIT_EXTENSION_MS` and never
 *    past `checkDeadlineMs`; those still silent then read filtered with
 *    `hint: 'icmp-rate-limit'`: the verdict rests on silence from a host that rate-limits.
 * A host that sent no error, or answered all its errors at once, gets no rounds and keeps the
 * deadline exactly. If any port hits a local failure, every other attempt is dropped at once
 * and the failure is thrown: a half-answered check is not an answer.
 */
export const probePorts: Probe = (target, ports, options) =>
  new Promise<PortResult[]>((resolve, reject) => {
    const checkStarted = performance.now();
    const results = new Map<number, PortResult>();
    /** Every live socket per port, and which of them belong to the deadline's schedule. */
    const sockets = new Map<number, Set<net.Socket>>();
    const scheduled = new Set<net.Socket>();
    const canarySockets = new Set<net.Socket>();
    const timers = new Set<NodeJS.Timeout>();
    /** Each round's ports in the order their SYNs left. */
    const rounds: number[][] = [];
    /** Silent ports proven not to be waiting for the host's rate limit. */
    const cleared = new Set<number>();
    const toDial = [...new Set(ports)].filter((port) => {
      if (!options.blockedPorts?.includes(port)) return true;
      results.set(port, { port, state: 'untestable', reason: 'blocked-at-source', rttMs: null });
      return false;
    });
    let lastErrorAt: number | undefined;
    let canary: number | undefined;
    let roundsRunning = false;
    /** Whether the host ever made this check ask at its pace (not just the scheduled attempts). */
    let paced = false;
    let pastDeadline = false;
    let extensionEnd = Number.POSITIVE_INFINITY;
    let done = false;
    /**
     * The last scheduled batch leaves here. An error that comes no sooner is a paced one: a host
     * without a limit (or a RST) answers the first SYN at once, so errors that keep coming
     * after every port has been asked are the host's limit paying out.
     */
    const lastBatchAt = (options.attempts - 1) * options.attemptSpacingMs;
    let pacedErrorSeen = false;

    const later = (ms: number, fn: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
    };
    const silent = (): number[] => toDial.filter((port) => !results.has(port));
    const suspects = (): number[] => silent().filter((port) => !cleared.has(port));
    const dropSockets = (set: Iterable<net.Socket>): void => {
      // destroy() on a pending socket abandons the handshake without sending anything more.
      for (const socket of set) socket.destroy();
    };
    const finish = (outcome: { ok: true } | { error: Error }): void => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const set of sockets.values()) dropSockets(set);
      dropSockets(canarySockets);
      options.signal?.removeEventListener('abort', onAbort);
      if ('error' in outcome) reject(outcome.error);
      else resolve(ports.map((port) => results.get(port) as PortResult));
    };
    const onAbort = (): void => finish({ error: new LocalProbeError('ABORTED') });

    const settle = (port: number, result: PortResult): void => {
      if (done || results.has(port)) return;
      results.set(port, result);
      const set = sockets.get(port);
      if (set !== undefined) dropSockets(set);
      if (silent().length === 0) finish({ ok: true });
    };
    const silence = (port: number, hint?: PortHint): PortResult => ({
      port,
      state: 'filtered',
      reason: 'no-response',
      rttMs: null,
      ...(hint === undefined ? {} : { hint }),
    });
    /**
     * A cleared port's silence still comes from a host seen rate-limiting its errors, and the
     * clearing is an inference from SYN order: say so (issue 14: a verdict resting on silence
     * from a host known to rate-limit carries the hint), though the port keeps its deadline.
     */
    const clearedSilence = (port: number): PortResult =>
      silence(port, paced || pacedErrorSeen ? 'icmp-rate-limit' : undefined);
    /** An error answered the socket at `tag`: every port dialed before it in that round is a drop. */
    const clear = (tag: RoundTag): void => {
      for (const port of (rounds[tag.round] ?? []).slice(0, tag.position)) {
        if (results.has(port)) continue;
        cleared.add(port);
        if (pastDeadline) settle(port, clearedSilence(port));
      }
    };

    const round = (): void => {
      if (done) return;
      const now = performance.now();
      const quiet = lastErrorAt === undefined || now - lastErrorAt >= RATE_LIMIT_QUIET_MS;
      if (pastDeadline && (quiet || now >= extensionEnd)) {
        for (const port of suspects()) settle(port, silence(port, 'icmp-rate-limit'));
        return;
      }
      const order = rotated(suspects(), rounds.length);
      // Before the deadline, a host that stopped answering even the canary is not asked more.
      if (order.length === 0 || quiet) {
        roundsRunning = false;
        return;
      }
      const index = rounds.length;
      rounds.push(order);
      paced = true;
      order.forEach((port, position) => {
        attempt(port, { round: index, position }, false);
      });
      if (canary !== undefined) dialCanary(canary, { round: index, position: order.length });
      later(Math.max(0, Math.min(RATE_LIMIT_ROUND_MS, extensionEnd - now)), round);
    };
    const onError = (port: number, tag: RoundTag | undefined): void => {
      lastErrorAt = performance.now();
      canary = port;
      if (tag !== undefined) clear(tag);
      if (lastErrorAt - checkStarted >= lastBatchAt) pacedErrorSeen = true;
      if (pacedErrorSeen && !roundsRunning && suspects().some((p) => p !== port)) {
        roundsRunning = true;
        // The scheduled attempts already sent fresh SYNs until now: the first round waits one.
        later(RATE_LIMIT_ROUND_MS, round);
      }
    };

    /** Dials `port` at `tag`'s place; a scheduled attempt lives to the deadline, a round's for one SYN. */
    const attempt = (port: number, tag: RoundTag, isScheduled: boolean): void => {
      if (done || results.has(port)) return;
      const startedAt = performance.now();
      let set = sockets.get(port);
      if (set === undefined) {
        set = new Set();
        sockets.set(port, set);
      }
      const socket = dial(target, port, (outcome) => {
        set.delete(socket);
        scheduled.delete(socket);
        if (outcome.kind === 'void') return;
        if (outcome.kind === 'local') {
          finish({ error: outcome.error });
          return;
        }
        const { verdict, rttMs } = outcome;
        if (outcome.socket !== undefined) {
          if (options.greeting !== undefined && !done && !results.has(port)) {
            // The winner writes its one line and closes on its own, under a fixed deadline (a
            // plain timer: an idle timer is reset by every byte a trickling peer sends). The
            // probe listens to nothing, so the first byte received ends the socket at once.
            const winner = outcome.socket;
            const deadline = setTimeout(() => winner.destroy(), GREETING_TIMEOUT_MS);
            winner.once('close', () => clearTimeout(deadline));
            winner.once('data', () => winner.destroy());
            winner.on('error', () => winner.destroy());
            winner.end(options.greeting);
          } else {
            outcome.socket.destroy();
          }
        }
        if (done || results.has(port)) return;
        // Only an answer to the socket's first SYN says when the host had an error to spare.
        const firstSyn = performance.now() - startedAt < ROUND_SOCKET_LIFE_MS;
        if (isErrorAnswer(verdict)) onError(port, firstSyn ? tag : undefined);
        settle(port, { port, ...verdict, rttMs });
      });
      set.add(socket);
      if (isScheduled) scheduled.add(socket);
      else later(ROUND_SOCKET_LIFE_MS, () => socket.destroy());
    };

    const dialCanary = (port: number, tag: RoundTag): void => {
      const socket = dial(target, port, (outcome) => {
        canarySockets.delete(socket);
        socket.destroy();
        if (done) return;
        if (outcome.kind === 'local') finish({ error: outcome.error });
        else if (outcome.kind === 'answer' && isErrorAnswer(outcome.verdict)) onError(port, tag);
      });
      canarySockets.add(socket);
      later(ROUND_SOCKET_LIFE_MS, () => socket.destroy());
    };

    const onDeadline = (): void => {
      if (done) return;
      pastDeadline = true;
      // The deadline's schedule ends here; rounds still in flight may yet be answered.
      dropSockets(scheduled);
      for (const port of silent()) if (cleared.has(port)) settle(port, clearedSilence(port));
      if (done) return;
      const now = performance.now();
      const limit = Math.min(options.timeoutMs + RATE_LIMIT_EXTENSION_MS, options.checkDeadlineMs ?? Infinity);
      extensionEnd = checkStarted + limit;
      const stillAnswering = lastErrorAt !== undefined && now - lastErrorAt < RATE_LIMIT_QUIET_MS;
      if (pacedErrorSeen && stillAnswering && limit > options.timeoutMs) {
        if (!roundsRunning) {
          roundsRunning = true;
          round();
        }
        return;
      }
      // Rounds ran, nothing cleared these ports, and the host has gone quiet: say so.
      const hint = paced ? 'icmp-rate-limit' : undefined;
      for (const port of silent()) settle(port, silence(port, hint));
    };

    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (toDial.length === 0) {
      finish({ ok: true });
      return;
    }
    later(options.timeoutMs, onDeadline);
    for (let i = 0; i < options.attempts; i++) {
      const at = i * options.attemptSpacingMs;
      if (i > 0 && at >= options.timeoutMs) break;
      // Every silent port's attempt i goes out together, each port taking its turn first.
      const fire = (): void => {
        const order = rotated(silent(), i);
        const index = rounds.push(order) - 1;
        order.forEach((port, position) => {
          attempt(port, { round: index, position }, true);
        });
      };
      if (i === 0) fire();
      else later(at, fire);
    }
  });

/** Probes one port: `probePorts` with a single port. */
export async function probePort(target: ProbeTarget, port: number, options: ProbeOptions): Promise<PortResult> {
  const [result] = await probePorts(target, [port], options);
  return result as PortResult;
}
