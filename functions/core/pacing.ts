/**
 * The probes' pacing, as a value: when to dial which port, when a silent port is settled and with
 * what hint. It owns no socket and reads no clock: the probe feeds it events (an answer, a tick)
 * with the time, and carries out the actions it returns. TCP and UDP share it, so a rule of the
 * schedule is written once and a unit test drives it with an explicit clock.
 *
 * The schedule. Every port gets `attempts` dials `attemptSpacingMs` apart (those that fit in the
 * attempt window), each batch going out for all silent ports at once in an order that rotates,
 * so which port's packet left first is known. The first answer settles a port; silence until
 * `timeoutMs` reads as silence.
 *
 * The rate-limit rounds. A host that rejects with ICMP errors sends them through a rate limit
 * (Linux: a burst of 6 per destination, then one a second on IPv4, faster on IPv6), so ten
 * rejected ports asked at once leave some unanswered for seconds. Once the host answers a port
 * with an error to a later ask, or no sooner than the last scheduled batch (so at the pace of a
 * limit, not at once as a host without one does) while others are silent, rounds run (`RATE_LIMIT_ROUND_MS` apart):
 * one fresh dial per silent port, in rotating order, then one to the port whose error came last
 * (the canary, known to answer). The host spends its next error on the first rejected port of
 * the round, so:
 *  - a rejected port gets its real answer as soon as the limit allows one;
 *  - an error to a later dial of the same round (or of the same scheduled batch, answered to its
 *    first packet) proves the host had an error to spare when the earlier ports' packets arrived:
 *    those ports are plain drops (cleared), and keep the deadline;
 *  - at the deadline, ports not so cleared go on being asked while the host keeps answering (an
 *    error within `RATE_LIMIT_QUIET_MS`), for at most `RATE_LIMIT_EXTENSION_MS` and never past
 *    `checkDeadlineMs`; those still silent then read silent with `hint: 'icmp-rate-limit'`.
 * A host that sent no error, or answered all its errors at once, gets no rounds and keeps the
 * deadline exactly.
 */
import type { PortHint } from '../contract/wire.ts';

/**
 * Time after the last ICMP error (or refusal) from the host beyond which it is taken to have
 * stopped answering: Linux's per-destination limit pays one error a second on IPv4 (faster on
 * IPv6), so a host still rate-limiting answers within 1 s plus one round and a round trip.
 */
export const RATE_LIMIT_QUIET_MS = 1500;

/** How far past the per-port deadline a check may run for a rate-limiting host, at most. */
export const RATE_LIMIT_EXTENSION_MS = 4000;

/** Spacing of the extension's rounds: one fresh dial per silent port and one to the canary. */
export const RATE_LIMIT_ROUND_MS = 250;

/**
 * How long a round's dial lives: under the kernel's 1 s initial RTO, so a TCP round sends exactly
 * one SYN (the packet count stays ours to bound), and long enough for any ordinary round trip. An
 * answer within it is an answer to the dial's first packet.
 */
export const ROUND_DIAL_LIFE_MS = 900;

/** Where a dial stood in its batch or round. */
export interface RoundTag {
  readonly round: number;
  readonly position: number;
}

/** What the probe must do. */
export type PacingAction =
  /** Dial `port`; a scheduled dial lives to the deadline, a round's for `ROUND_DIAL_LIFE_MS`. */
  | { readonly type: 'dial'; readonly port: number; readonly tag: RoundTag; readonly scheduled: boolean }
  /** Dial the canary: its error says the host still answers, and clears ports dialed before it. */
  | { readonly type: 'canary'; readonly port: number; readonly tag: RoundTag }
  /** Settle `port` as silence. */
  | { readonly type: 'silence'; readonly port: number; readonly hint?: PortHint }
  /** The deadline's schedule is over: its dials may be dropped (rounds in flight stay). */
  | { readonly type: 'end-schedule' }
  /** Every port is settled. */
  | { readonly type: 'finish' };

/** How one check is paced. */
export interface PacingOptions {
  /** Per-port deadline. */
  readonly timeoutMs: number;
  /** Scheduled dials per port. */
  readonly attempts: number;
  readonly attemptSpacingMs: number;
  /** Scheduled dials start before this (ms from the start); default `timeoutMs`. */
  readonly attemptWindowMs?: number;
  /** The request's own deadline, in ms from the start; the extension never runs past it. */
  readonly checkDeadlineMs?: number;
}

/** The pacing of one check; every method takes the time (ms, any fixed origin) and returns what to do. */
export interface Pacing {
  start(now: number): PacingAction[];
  /** `port` got its answer; `error` when it was an ICMP error or refusal, `tag` when it answered a dial's first packet. */
  answer(port: number, answer: { readonly error: boolean; readonly tag?: RoundTag }, now: number): PacingAction[];
  /** The canary dialed at `tag` was answered with an error. */
  canaryError(port: number, tag: RoundTag, now: number): PacingAction[];
  /** Runs whatever was due by `now`. */
  tick(now: number): PacingAction[];
  /** When `tick` next has something to do, or `undefined`. */
  nextWakeAt(): number | undefined;
  readonly done: boolean;
}

/** The offsets (ms from the start) of the scheduled dials. */
export function attemptOffsets(options: PacingOptions): number[] {
  const window = options.attemptWindowMs ?? options.timeoutMs;
  const offsets = [0];
  for (let i = 1; i < options.attempts; i++) {
    const at = i * options.attemptSpacingMs;
    if (at >= window) break;
    offsets.push(at);
  }
  return offsets;
}

/**
 * The most rounds one check can run: the first goes out one round after the earliest error
 * that counts as paced (an answer to the second batch, or any error once every port was asked),
 * the last before the extension ends. SECURITY.md's packet bounds are this times one packet.
 */
export function maxRounds(options: PacingOptions): number {
  const offsets = attemptOffsets(options);
  const earliestPaced = Math.min(offsets[1] ?? Number.POSITIVE_INFINITY, offsets[offsets.length - 1] ?? 0);
  const end = Math.min(options.timeoutMs + RATE_LIMIT_EXTENSION_MS, options.checkDeadlineMs ?? Infinity);
  return Math.max(0, Math.ceil((end - earliestPaced - RATE_LIMIT_ROUND_MS) / RATE_LIMIT_ROUND_MS));
}

/** `items` rotated left by `by`, so each item takes its turn at the front. */
export function rotated<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

type Due = { readonly at: number; readonly run: (now: number) => void };

/** The pacing for `ports` (distinct) under `options`. */
export function createPacing(ports: readonly number[], options: PacingOptions): Pacing {
  const offsets = attemptOffsets(options);
  /** An error no sooner than this (from the start) is paced: every port had been asked by then. */
  const lastBatchAt = offsets[offsets.length - 1] ?? 0;
  const settled = new Set<number>();
  /** Each batch's and round's ports, in the order their packets left. */
  const rounds: number[][] = [];
  /** Silent ports proven not to be waiting for the host's rate limit. */
  const cleared = new Set<number>();
  let agenda: Due[] = [];
  let actions: PacingAction[] = [];
  let startedAt = 0;
  let lastErrorAt: number | undefined;
  let canary: number | undefined;
  let roundsRunning = false;
  /** Whether rounds ever ran (the host made this check ask at its pace). */
  let paced = false;
  let pacedErrorSeen = false;
  let pastDeadline = false;
  let extensionEnd = Number.POSITIVE_INFINITY;
  let done = false;

  const silent = (): number[] => ports.filter((p) => !settled.has(p));
  const suspects = (): number[] => silent().filter((p) => !cleared.has(p));
  const at = (when: number, run: (now: number) => void): void => {
    agenda.push({ at: when, run });
  };
  const markSettled = (port: number): void => {
    settled.add(port);
    if (!done && silent().length === 0) {
      done = true;
      agenda = [];
      actions.push({ type: 'finish' });
    }
  };
  const silence = (port: number, hint: PortHint | undefined): void => {
    if (done || settled.has(port)) return;
    actions.push(hint === undefined ? { type: 'silence', port } : { type: 'silence', port, hint });
    markSettled(port);
  };
  /** A cleared port's silence still comes from a host seen rate-limiting, and clearing is an inference: say so. */
  const clearedHint = (): PortHint | undefined => (paced || pacedErrorSeen ? 'icmp-rate-limit' : undefined);
  const dialBatch = (order: readonly number[], scheduled: boolean): number => {
    const round = rounds.push([...order]) - 1;
    order.forEach((port, position) => {
      actions.push({ type: 'dial', port, tag: { round, position }, scheduled });
    });
    return round;
  };

  /** An error answered the dial at `tag`: every port dialed before it there is a plain drop. */
  const clear = (tag: RoundTag): void => {
    for (const port of (rounds[tag.round] ?? []).slice(0, tag.position)) {
      if (settled.has(port)) continue;
      cleared.add(port);
      if (pastDeadline) silence(port, clearedHint());
    }
  };
  const round = (now: number): void => {
    if (done) return;
    const quiet = lastErrorAt === undefined || now - lastErrorAt >= RATE_LIMIT_QUIET_MS;
    if (pastDeadline && (quiet || now >= extensionEnd)) {
      for (const port of suspects()) silence(port, 'icmp-rate-limit');
      return;
    }
    const order = rotated(suspects(), rounds.length);
    // Before the deadline, a host that stopped answering even the canary is not asked more.
    if (order.length === 0 || quiet) {
      roundsRunning = false;
      return;
    }
    paced = true;
    const index = dialBatch(order, false);
    if (canary !== undefined)
      actions.push({ type: 'canary', port: canary, tag: { round: index, position: order.length } });
    at(now + Math.max(0, Math.min(RATE_LIMIT_ROUND_MS, extensionEnd - now)), round);
  };
  const onError = (port: number, tag: RoundTag | undefined, now: number): void => {
    lastErrorAt = now;
    canary = port;
    if (tag !== undefined) clear(tag);
    // Paced: the host answered a later ask, or answered after every port had been asked. A host
    // without a limit answers every first packet at once; UDP has no retransmissions of its own,
    // so its first paced error is often the answer to a later scheduled datagram.
    if (now - startedAt >= lastBatchAt || (tag !== undefined && tag.round > 0)) pacedErrorSeen = true;
    if (pacedErrorSeen && !roundsRunning && suspects().some((p) => p !== port)) {
      roundsRunning = true;
      // The scheduled dials sent fresh packets until now: the first round waits one.
      at(now + RATE_LIMIT_ROUND_MS, round);
    }
  };
  const deadline = (now: number): void => {
    pastDeadline = true;
    actions.push({ type: 'end-schedule' });
    for (const port of silent()) if (cleared.has(port)) silence(port, clearedHint());
    if (done) return;
    const limit = Math.min(options.timeoutMs + RATE_LIMIT_EXTENSION_MS, options.checkDeadlineMs ?? Infinity);
    extensionEnd = startedAt + limit;
    const stillAnswering = lastErrorAt !== undefined && now - lastErrorAt < RATE_LIMIT_QUIET_MS;
    if (pacedErrorSeen && stillAnswering && limit > options.timeoutMs) {
      if (!roundsRunning) {
        roundsRunning = true;
        round(now);
      }
      return;
    }
    // Rounds ran, nothing cleared these ports, and the host has gone quiet: say so.
    const hint = paced ? 'icmp-rate-limit' : undefined;
    for (const port of silent()) silence(port, hint);
  };

  /** Runs `work`, then hands over the actions it queued. */
  const step = (work: () => void): PacingAction[] => {
    actions = [];
    if (!done) work();
    return actions;
  };

  return {
    get done() {
      return done;
    },
    start: (now) =>
      step(() => {
        startedAt = now;
        if (ports.length === 0) {
          done = true;
          actions.push({ type: 'finish' });
          return;
        }
        at(now + options.timeoutMs, deadline);
        offsets.forEach((offset, i) => {
          const fire = (): void => {
            dialBatch(rotated(silent(), i), true);
          };
          if (offset === 0) fire();
          else at(now + offset, fire);
        });
      }),
    answer: (port, answer, now) =>
      step(() => {
        if (settled.has(port)) return;
        if (answer.error) onError(port, answer.tag, now);
        markSettled(port);
      }),
    canaryError: (port, tag, now) => step(() => onError(port, tag, now)),
    tick: (now) =>
      step(() => {
        for (;;) {
          if (done) return;
          let next: Due | undefined;
          for (const due of agenda) if (due.at <= now && (next === undefined || due.at < next.at)) next = due;
          if (next === undefined) return;
          agenda.splice(agenda.indexOf(next), 1);
          next.run(now);
        }
      }),
    nextWakeAt: () => (agenda.length === 0 ? undefined : Math.min(...agenda.map((d) => d.at))),
  };
}
