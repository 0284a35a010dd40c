/**
 * Runs one check's dials under the pacing (pacing.ts): the one engine both probes share. The
 * pacing decides what to dial and when; a `Dialer` knows one protocol's socket; this module owns
 * the sockets' lifetimes and the one timer, and turns answers into results. If any dial hits a
 * local failure, every other one is dropped at once and the failure is thrown: a half-answered
 * check is not an answer.
 */
import type { PortHint } from '../contract/wire.ts';
import { LocalProbeError } from './local-failure.ts';
import { createPacing, type PacingAction, type PacingOptions, ROUND_DIAL_LIFE_MS, type RoundTag } from './pacing.ts';

/** One open dial: a socket the engine may close at any time. */
export interface DialHandle {
  close(): void;
}

/** What one dial learned; reported at most once. */
export type DialOutcome<R> =
  /**
   * The port's answer. `error`: an ICMP error or refusal, which a host sends through its rate
   * limit. `claim` is told whether this answer settled the port (a TCP winner may then write
   * its dial-proof line); a dial that reports an answer is the claimant's to close.
   */
  | { readonly kind: 'answer'; readonly result: R; readonly error: boolean; readonly claim?: (won: boolean) => void }
  | { readonly kind: 'local'; readonly error: LocalProbeError }
  /** Nothing provable: the dial is over and says nothing about the port. */
  | { readonly kind: 'void' };

/** One protocol's sockets and words. */
export interface Dialer<R> {
  /** Opens one dial to `port` (one SYN, or one datagram, and whatever answers it). */
  dial(port: number, report: (outcome: DialOutcome<R>) => void): DialHandle;
  /** The result of a port that stayed silent. */
  silence(port: number, hint: PortHint | undefined): R;
  /** The result of a port this checker cannot reach. */
  untestable(port: number): R;
}

/** How one check runs: the pacing's options, plus ports never dialed and an abort signal. */
export interface PacedCheckOptions extends PacingOptions {
  readonly blockedPorts?: readonly number[];
  /** Aborts every dial; the check then throws `LocalProbeError` with code `ABORTED`. */
  readonly signal?: AbortSignal;
}

/** A round trip in ms, to a tenth of a millisecond, as every result reports it. */
export function roundedMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * The open dials of one check: per dial, its port (none for a canary) and whether the schedule
 * started it. A round's dial or a canary lives `ROUND_DIAL_LIFE_MS`: one packet, then it is
 * dropped. A dial leaves the book when it reports (its socket is then the reporter's) or when
 * the book closes it, so none is closed twice.
 */
interface DialBook {
  add(port: number | undefined, handle: DialHandle, scheduled: boolean): void;
  forget(handle: DialHandle): void;
  closePort(port: number): void;
  closeScheduled(): void;
  closeAll(): void;
}

interface OpenDial {
  readonly port: number | undefined;
  readonly scheduled: boolean;
  expiry?: NodeJS.Timeout;
}

function createDialBook(): DialBook {
  const open = new Map<DialHandle, OpenDial>();
  const forget = (handle: DialHandle): void => {
    clearTimeout(open.get(handle)?.expiry);
    open.delete(handle);
  };
  const close = (which: (dial: OpenDial) => boolean): void => {
    for (const [handle, dial] of [...open]) {
      if (!which(dial)) continue;
      forget(handle);
      handle.close();
    }
  };
  return {
    add: (port, handle, scheduled) => {
      const dial: OpenDial = { port, scheduled };
      open.set(handle, dial);
      if (!scheduled) dial.expiry = setTimeout(() => close((d) => d === dial), ROUND_DIAL_LIFE_MS);
    },
    forget,
    closePort: (port) => close((dial) => dial.port === port),
    closeScheduled: () => close((dial) => dial.scheduled),
    closeAll: () => close(() => true),
  };
}

/** Dials `ports` as the pacing says; results in the order of `ports`. */
export function runPacedCheck<R>(
  ports: readonly number[],
  options: PacedCheckOptions,
  dialer: Dialer<R>,
): Promise<R[]> {
  return new Promise<R[]>((resolve, reject) => {
    const results = new Map<number, R>();
    const toDial = [...new Set(ports)].filter((port) => {
      if (!options.blockedPorts?.includes(port)) return true;
      results.set(port, dialer.untestable(port));
      return false;
    });
    const pacing = createPacing(toDial, options);
    const book = createDialBook();
    let wake: NodeJS.Timeout | undefined;
    let finished = false;

    /** Ends the check once: with the results, or with `error`. */
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(wake);
      book.closeAll();
      options.signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(ports.map((port) => results.get(port) as R));
      else reject(error);
    };
    const onAbort = (): void => finish(new LocalProbeError('ABORTED'));

    const perform = (actions: readonly PacingAction[]): void => {
      for (const action of actions) {
        if (finished) return;
        if (action.type === 'dial') dial(action.port, action.tag, action.scheduled);
        else if (action.type === 'canary') dialCanary(action.port, action.tag);
        else if (action.type === 'end-schedule') book.closeScheduled();
        else if (action.type === 'finish') finish();
        else {
          results.set(action.port, dialer.silence(action.port, action.hint));
          book.closePort(action.port);
        }
      }
      clearTimeout(wake);
      const next = pacing.nextWakeAt();
      if (next === undefined || finished) return;
      wake = setTimeout(() => perform(pacing.tick(performance.now())), Math.max(0, next - performance.now()));
    };

    const dial = (port: number, tag: RoundTag, isScheduled: boolean): void => {
      if (results.has(port)) return;
      const startedAt = performance.now();
      const handle = dialer.dial(port, (outcome) => {
        book.forget(handle);
        if (outcome.kind === 'void') return;
        if (outcome.kind === 'local') {
          finish(outcome.error);
          return;
        }
        const won = !finished && !results.has(port);
        outcome.claim?.(won);
        if (!won) return;
        results.set(port, outcome.result);
        book.closePort(port);
        const now = performance.now();
        // Only an answer to the dial's first packet says when the host had an error to spare.
        const firstPacket = now - startedAt < ROUND_DIAL_LIFE_MS;
        perform(pacing.answer(port, { error: outcome.error, ...(firstPacket ? { tag } : {}) }, now));
      });
      book.add(port, handle, isScheduled);
    };

    const dialCanary = (port: number, tag: RoundTag): void => {
      const handle = dialer.dial(port, (outcome) => {
        book.forget(handle);
        if (outcome.kind === 'answer') outcome.claim?.(false);
        if (finished || outcome.kind === 'void') return;
        if (outcome.kind === 'local') finish(outcome.error);
        else if (outcome.error) perform(pacing.canaryError(port, tag, performance.now()));
      });
      book.add(undefined, handle, false);
    };

    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    // finish() removes it, on every path.
    options.signal?.addEventListener('abort', onAbort);
    perform(pacing.start(performance.now()));
  });
}
