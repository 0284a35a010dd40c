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

/** Something the pacing must do at a time: a scheduled batch, the deadline, a round. */
type Due = { readonly at: number; readonly run: (now: number) => void };

/** Everything one check's pacing knows; the functions below read and change it. */
interface PacingState {
  readonly options: PacingOptions;
  readonly ports: readonly number[];
  readonly offsets: readonly number[];
  /** An error no sooner than this (from the start) is paced: every port had been asked by then. */
  readonly lastBatchAt: number;
  readonly settled: Set<number>;
  /** Each batch's and round's ports, in the order their packets left. */
  readonly rounds: number[][];
  /** Silent ports proven not to be waiting for the host's rate limit. */
  readonly cleared: Set<number>;
  agenda: Due[];
  /** What the current event asks of the probe. */
  actions: PacingAction[];
  startedAt: number;
  lastErrorAt: number | undefined;
  canary: number | undefined;
  roundsRunning: boolean;
  /** Whether rounds ever ran (the host made this check ask at its pace). */
  paced: boolean;
  pacedErrorSeen: boolean;
  pastDeadline: boolean;
  extensionEnd: number;
  done: boolean;
}

const silent = (st: PacingState): number[] => st.ports.filter((p) => !st.settled.has(p));
const suspects = (st: PacingState): number[] => silent(st).filter((p) => !st.cleared.has(p));

function markSettled(st: PacingState, port: number): void {
  st.settled.add(port);
  if (!st.done && silent(st).length === 0) {
    st.done = true;
    st.agenda = [];
    st.actions.push({ type: 'finish' });
  }
}

function silence(st: PacingState, port: number, hint: PortHint | undefined): void {
  if (st.done || st.settled.has(port)) return;
  st.actions.push(hint === undefined ? { type: 'silence', port } : { type: 'silence', port, hint });
  markSettled(st, port);
}

/** A cleared port's silence still comes from a host seen rate-limiting, and clearing is an inference: say so. */
const clearedHint = (st: PacingState): PortHint | undefined =>
  st.paced || st.pacedErrorSeen ? 'icmp-rate-limit' : undefined;

/** Dials `order` as one batch or round; returns its index. */
function dialBatch(st: PacingState, order: readonly number[], scheduled: boolean): number {
  const round = st.rounds.push([...order]) - 1;
  order.forEach((port, position) => {
    st.actions.push({ type: 'dial', port, tag: { round, position }, scheduled });
  });
  return round;
}

/** An error answered the dial at `tag`: every port dialed before it there is a plain drop. */
function clear(st: PacingState, tag: RoundTag): void {
  for (const port of (st.rounds[tag.round] ?? []).slice(0, tag.position)) {
    if (st.settled.has(port)) continue;
    st.cleared.add(port);
    if (st.pastDeadline) silence(st, port, clearedHint(st));
  }
}

function round(st: PacingState, now: number): void {
  if (st.done) return;
  const quiet = st.lastErrorAt === undefined || now - st.lastErrorAt >= RATE_LIMIT_QUIET_MS;
  if (st.pastDeadline && (quiet || now >= st.extensionEnd)) {
    for (const port of suspects(st)) silence(st, port, 'icmp-rate-limit');
    return;
  }
  const order = rotated(suspects(st), st.rounds.length);
  // Before the deadline, a host that stopped answering even the canary is not asked more.
  if (order.length === 0 || quiet) {
    st.roundsRunning = false;
    return;
  }
  st.paced = true;
  const index = dialBatch(st, order, false);
  if (st.canary !== undefined) {
    st.actions.push({ type: 'canary', port: st.canary, tag: { round: index, position: order.length } });
  }
  const next = now + Math.max(0, Math.min(RATE_LIMIT_ROUND_MS, st.extensionEnd - now));
  st.agenda.push({ at: next, run: (t) => round(st, t) });
}

function onError(st: PacingState, port: number, tag: RoundTag | undefined, now: number): void {
  st.lastErrorAt = now;
  st.canary = port;
  if (tag !== undefined) clear(st, tag);
  // Paced: the host answered a later ask, or answered after every port had been asked. A host
  // without a limit answers every first packet at once; UDP has no retransmissions of its own,
  // so its first paced error is often the answer to a later scheduled datagram.
  if (now - st.startedAt >= st.lastBatchAt || (tag !== undefined && tag.round > 0)) st.pacedErrorSeen = true;
  if (st.pacedErrorSeen && !st.roundsRunning && suspects(st).some((p) => p !== port)) {
    st.roundsRunning = true;
    // The scheduled dials sent fresh packets until now: the first round waits one.
    st.agenda.push({ at: now + RATE_LIMIT_ROUND_MS, run: (t) => round(st, t) });
  }
}

function deadline(st: PacingState, now: number): void {
  st.pastDeadline = true;
  st.actions.push({ type: 'end-schedule' });
  for (const port of silent(st)) if (st.cleared.has(port)) silence(st, port, clearedHint(st));
  if (st.done) return;
  const { timeoutMs, checkDeadlineMs } = st.options;
  const limit = Math.min(timeoutMs + RATE_LIMIT_EXTENSION_MS, checkDeadlineMs ?? Infinity);
  st.extensionEnd = st.startedAt + limit;
  const stillAnswering = st.lastErrorAt !== undefined && now - st.lastErrorAt < RATE_LIMIT_QUIET_MS;
  if (st.pacedErrorSeen && stillAnswering && limit > timeoutMs) {
    if (!st.roundsRunning) {
      st.roundsRunning = true;
      round(st, now);
    }
    return;
  }
  // Rounds ran, nothing cleared these ports, and the host has gone quiet: say so.
  const hint = st.paced ? 'icmp-rate-limit' : undefined;
  for (const port of silent(st)) silence(st, port, hint);
}

function start(st: PacingState, now: number): void {
  st.startedAt = now;
  if (st.ports.length === 0) {
    st.done = true;
    st.actions.push({ type: 'finish' });
    return;
  }
  st.agenda.push({ at: now + st.options.timeoutMs, run: (t) => deadline(st, t) });
  st.offsets.forEach((offset, i) => {
    const fire = (): void => {
      dialBatch(st, rotated(silent(st), i), true);
    };
    if (offset === 0) fire();
    else st.agenda.push({ at: now + offset, run: fire });
  });
}

/** Runs every agenda item due by `now`, earliest first. */
function runDue(st: PacingState, now: number): void {
  for (;;) {
    if (st.done) return;
    let next: Due | undefined;
    for (const due of st.agenda) if (due.at <= now && (next === undefined || due.at < next.at)) next = due;
    if (next === undefined) return;
    st.agenda.splice(st.agenda.indexOf(next), 1);
    next.run(now);
  }
}

/** The pacing for `ports` (distinct) under `options`. */
export function createPacing(ports: readonly number[], options: PacingOptions): Pacing {
  const offsets = attemptOffsets(options);
  const st: PacingState = {
    options,
    ports,
    offsets,
    lastBatchAt: offsets[offsets.length - 1] ?? 0,
    settled: new Set(),
    rounds: [],
    cleared: new Set(),
    agenda: [],
    actions: [],
    startedAt: 0,
    lastErrorAt: undefined,
    canary: undefined,
    roundsRunning: false,
    paced: false,
    pacedErrorSeen: false,
    pastDeadline: false,
    extensionEnd: Number.POSITIVE_INFINITY,
    done: false,
  };
  /** Runs `work` and hands over the actions it queued. */
  const step = (work: () => void): PacingAction[] => {
    st.actions = [];
    if (!st.done) work();
    return st.actions;
  };
  return {
    get done() {
      return st.done;
    },
    start: (now) => step(() => start(st, now)),
    answer: (port, answer, now) =>
      step(() => {
        if (st.settled.has(port)) return;
        if (answer.error) onError(st, port, answer.tag, now);
        markSettled(st, port);
      }),
    canaryError: (port, tag, now) => step(() => onError(st, port, tag, now)),
    tick: (now) => step(() => runDue(st, now)),
    nextWakeAt: () => (st.agenda.length === 0 ? undefined : Math.min(...st.agenda.map((d) => d.at))),
  };
}
