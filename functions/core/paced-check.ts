/**
 * Runs one check's dials under the pacing (pacing.ts): the one engine both probes share. The
 * pacing decides what to dial and when; a `Dialer` knows one protocol's socket; this module owns
 * the sockets' lifetimes and the one timer, and turns answers into results. If any dial hits a
 * local failure, every other one is dropped at once and the failure is thrown: a half-answered
 * check is not an answer.
 */
import type { PortHint } from '../contract/wire.ts';
import { createPacing, type PacingAction, type PacingOptions, ROUND_DIAL_LIFE_MS, type RoundTag } from './pacing.ts';
import { LocalProbeError } from './probe-all.ts';

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
    /** Every open dial per port, which of them belong to the deadline's schedule, and the canaries. */
    const open = new Map<number, Set<DialHandle>>();
    const scheduled = new Set<DialHandle>();
    const canaries = new Set<DialHandle>();
    const lifeTimers = new Set<NodeJS.Timeout>();
    let wake: NodeJS.Timeout | undefined;
    let finished = false;

    const closeAll = (handles: Iterable<DialHandle>): void => {
      for (const handle of handles) handle.close();
    };
    const finish = (outcome: { ok: true } | { error: Error }): void => {
      if (finished) return;
      finished = true;
      clearTimeout(wake);
      for (const timer of lifeTimers) clearTimeout(timer);
      for (const set of open.values()) closeAll(set);
      closeAll(canaries);
      options.signal?.removeEventListener('abort', onAbort);
      if ('error' in outcome) reject(outcome.error);
      else resolve(ports.map((port) => results.get(port) as R));
    };
    const onAbort = (): void => finish({ error: new LocalProbeError('ABORTED') });
    const closeAfterLife = (handle: DialHandle, from: Set<DialHandle>): void => {
      const timer = setTimeout(() => {
        lifeTimers.delete(timer);
        from.delete(handle);
        handle.close();
      }, ROUND_DIAL_LIFE_MS);
      lifeTimers.add(timer);
    };

    const perform = (actions: readonly PacingAction[]): void => {
      for (const action of actions) {
        if (finished) return;
        switch (action.type) {
          case 'dial':
            dial(action.port, action.tag, action.scheduled);
            break;
          case 'canary':
            dialCanary(action.port, action.tag);
            break;
          case 'silence':
            results.set(action.port, dialer.silence(action.port, action.hint));
            closeAll(open.get(action.port) ?? []);
            break;
          case 'end-schedule':
            closeAll(scheduled);
            break;
          case 'finish':
            finish({ ok: true });
            return;
        }
      }
      rearm();
    };
    const rearm = (): void => {
      clearTimeout(wake);
      const next = pacing.nextWakeAt();
      if (next === undefined || finished) return;
      wake = setTimeout(() => perform(pacing.tick(performance.now())), Math.max(0, next - performance.now()));
    };

    const dial = (port: number, tag: RoundTag, isScheduled: boolean): void => {
      if (results.has(port)) return;
      let set = open.get(port);
      if (set === undefined) {
        set = new Set();
        open.set(port, set);
      }
      const mine = set;
      const startedAt = performance.now();
      const handle = dialer.dial(port, (outcome) => {
        mine.delete(handle);
        scheduled.delete(handle);
        if (outcome.kind === 'void') return;
        if (outcome.kind === 'local') {
          finish({ error: outcome.error });
          return;
        }
        const won = !finished && !results.has(port);
        outcome.claim?.(won);
        if (!won) return;
        results.set(port, outcome.result);
        closeAll(mine);
        const now = performance.now();
        // Only an answer to the dial's first packet says when the host had an error to spare.
        const firstPacket = now - startedAt < ROUND_DIAL_LIFE_MS;
        perform(pacing.answer(port, { error: outcome.error, ...(firstPacket ? { tag } : {}) }, now));
      });
      mine.add(handle);
      if (isScheduled) scheduled.add(handle);
      else closeAfterLife(handle, mine);
    };

    const dialCanary = (port: number, tag: RoundTag): void => {
      const handle = dialer.dial(port, (outcome) => {
        canaries.delete(handle);
        if (outcome.kind === 'answer') outcome.claim?.(false);
        if (finished || outcome.kind === 'void') return;
        if (outcome.kind === 'local') finish({ error: outcome.error });
        else if (outcome.error) perform(pacing.canaryError(port, tag, performance.now()));
      });
      canaries.add(handle);
      closeAfterLife(handle, canaries);
    };

    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    perform(pacing.start(performance.now()));
  });
}
