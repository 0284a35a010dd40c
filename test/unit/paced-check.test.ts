/**
 * The engine both probes share (paced-check.ts), driven without sockets: a scripted dialer
 * that records every dial and reports what a test tells it to, on a fake clock (timers and
 * `performance.now()`), so each rule about sockets' lifetimes, claims, canaries and endings is
 * pinned at an exact time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalProbeError } from '../../functions/core/local-failure.ts';
import { type DialOutcome, type PacedCheckOptions, runPacedCheck } from '../../functions/core/paced-check.ts';
import { ROUND_DIAL_LIFE_MS } from '../../functions/core/pacing.ts';

/** The shipped TCP schedule: 5 attempts 250 ms apart, a 3 s deadline. */
const SHIPPED: PacedCheckOptions = { timeoutMs: 3000, attempts: 5, attemptSpacingMs: 250 };

interface FakeDial {
  readonly port: number;
  /** ms since the check started. */
  readonly at: number;
  closed: boolean;
  closedAt?: number;
  /** Times the engine closed it: never more than once. */
  closes: number;
  /** Whether it reported (then its socket is the reporter's, not the engine's, to close). */
  reported: boolean;
  report(outcome: DialOutcome<string>): void;
}

/** Runs a check of `ports` against a dialer that records its dials and answers only when told. */
function scripted(ports: readonly number[], options: PacedCheckOptions = SHIPPED) {
  const dials: FakeDial[] = [];
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  let outcome: { results?: string[]; error?: unknown } | undefined;
  const check = runPacedCheck<string>(ports, options, {
    dial(port, report) {
      const dial: FakeDial = {
        port,
        at: now(),
        closed: false,
        closes: 0,
        reported: false,
        report: (outcome) => {
          dial.reported = true;
          report(outcome);
        },
      };
      dials.push(dial);
      return {
        close() {
          dial.closed = true;
          dial.closes += 1;
          dial.closedAt ??= now();
        },
      };
    },
    silence: (port, hint) => `${port} silent${hint === undefined ? '' : ` ${hint}`}`,
    untestable: (port) => `${port} untestable`,
  }).then(
    (results) => {
      outcome = { results };
    },
    (error: unknown) => {
      outcome = { error };
    },
  );
  const at = (ms: number, port?: number): FakeDial[] =>
    dials.filter((d) => d.at === ms && (port === undefined || d.port === port));
  const one = (ms: number, port: number): FakeDial => {
    const found = at(ms, port);
    if (found.length !== 1) throw new Error(`expected one dial of ${port} at ${ms} ms, found ${found.length}`);
    return found[0] as FakeDial;
  };
  /**
   * What every ended check must leave: each dial closed by the engine or reported (its own to
   * close), none closed twice, and no timer running.
   */
  const leftClean = (): void => {
    expect(outcome).toBeDefined();
    expect(dials.filter((d) => !d.closed && !d.reported)).toEqual([]);
    expect(dials.filter((d) => d.closes > 1)).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  };
  return { dials, now, at, one, check, outcome: () => outcome, leftClean };
}

const closedAnswer = (result: string, claim?: (won: boolean) => void): DialOutcome<string> => ({
  kind: 'answer',
  result,
  error: true,
  ...(claim === undefined ? {} : { claim }),
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('paced check: ports and results', () => {
  it('answers blocked ports untestable without dialing them, dials a repeated port once, and keeps the order asked', async () => {
    const run = scripted([7, 25, 7, 8], { ...SHIPPED, blockedPorts: [25] });
    expect(run.at(0).map((d) => d.port)).toEqual([7, 8]);
    run.one(0, 7).report(closedAnswer('7 closed'));
    run.one(0, 8).report({ kind: 'answer', result: '8 open', error: false });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.outcome()).toEqual({ results: ['7 closed', '25 untestable', '7 closed', '8 open'] });
  });

  it('reads a port silent at the deadline exactly, with no hint when the host sent no error', async () => {
    const run = scripted([9]);
    await vi.advanceTimersByTimeAsync(2999);
    expect(run.outcome()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(run.outcome()).toEqual({ results: ['9 silent'] });
    expect(run.dials.map((d) => d.at)).toEqual([0, 250, 500, 750, 1000]);
    expect(run.dials.every((d) => d.closed && d.closedAt === 3000)).toBe(true);
    run.leftClean();
  });
});

describe('paced check: sockets', () => {
  it('closes every other dial of a port once one answers, and leaves the answering dial to its claimant', async () => {
    const run = scripted([1, 2]);
    await vi.advanceTimersByTimeAsync(500);
    const claims: boolean[] = [];
    // An accepted connection: no ICMP error, so no rate-limit rounds start.
    run.one(500, 1).report({ kind: 'answer', result: '1 open', error: false, claim: (won) => claims.push(won) });
    expect(claims).toEqual([true]);
    expect(run.dials.filter((d) => d.port === 1).map((d) => [d.at, d.closed])).toEqual([
      [0, true],
      [250, true],
      [500, false],
    ]);
    // Port 2's dials are untouched, and port 1 is dialed no more.
    expect(run.dials.filter((d) => d.port === 2).every((d) => !d.closed)).toBe(true);
    await vi.advanceTimersByTimeAsync(250);
    expect(run.at(750).map((d) => d.port)).toEqual([2]);
  });

  it('tells a later answer for a settled port that it lost, and keeps the first result', async () => {
    const run = scripted([1]);
    await vi.advanceTimersByTimeAsync(250);
    run.one(250, 1).report(closedAnswer('first'));
    const claims: boolean[] = [];
    run.one(0, 1).report({ kind: 'answer', result: 'second', error: false, claim: (won) => claims.push(won) });
    expect(claims).toEqual([false]);
    await vi.advanceTimersByTimeAsync(0);
    expect(run.outcome()).toEqual({ results: ['first'] });
  });

  it('ignores a dial that ends with nothing to say, and keeps dialing that port', async () => {
    const run = scripted([1]);
    run.one(0, 1).report({ kind: 'void' });
    await vi.advanceTimersByTimeAsync(250);
    expect(run.at(250, 1)).toHaveLength(1);
    expect(run.outcome()).toBeUndefined();
  });

  it('keeps scheduled dials open to the deadline, then closes them all at once', async () => {
    const run = scripted([1]);
    await vi.advanceTimersByTimeAsync(2999);
    expect(run.dials.some((d) => d.closed)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.dials.map((d) => d.closedAt)).toEqual([3000, 3000, 3000, 3000, 3000]);
  });
});

describe('paced check: local failures and aborts', () => {
  it('throws the first local failure and closes every open dial at once', async () => {
    const run = scripted([1, 2]);
    await vi.advanceTimersByTimeAsync(250);
    const failure = new LocalProbeError('EMFILE');
    const reporter = run.one(250, 2);
    reporter.report({ kind: 'local', error: failure });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.outcome()).toEqual({ error: failure });
    // Every other dial is closed; the one that reported is its own to close.
    expect(run.dials.filter((d) => d !== reporter).every((d) => d.closed)).toBe(true);
    // Nothing more is dialed, and a late answer for the unsettled port is told it lost.
    await vi.advanceTimersByTimeAsync(5000);
    expect(run.dials).toHaveLength(4);
    const claims: boolean[] = [];
    run.one(0, 1).report(closedAnswer('late', (won) => claims.push(won)));
    await vi.advanceTimersByTimeAsync(5000);
    expect(claims).toEqual([false]);
    expect(run.dials).toHaveLength(4);
    expect(run.outcome()).toEqual({ error: failure });
    // A second local failure ends nothing twice: no dial is closed again.
    run.one(250, 1).report({ kind: 'local', error: new LocalProbeError('ENOBUFS') });
    expect(run.outcome()).toEqual({ error: failure });
    run.leftClean();
  });

  it('throws ABORTED when the signal aborts, closing every dial; an aborted signal dials nothing', async () => {
    const controller = new AbortController();
    const run = scripted([1], { ...SHIPPED, signal: controller.signal });
    await vi.advanceTimersByTimeAsync(250);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect((run.outcome()?.error as LocalProbeError).code).toBe('ABORTED');
    expect(run.dials.map((d) => d.closed)).toEqual([true, true]);

    const early = scripted([1], { ...SHIPPED, signal: AbortSignal.abort() });
    await vi.advanceTimersByTimeAsync(0);
    expect((early.outcome()?.error as LocalProbeError).code).toBe('ABORTED');
    expect(early.dials).toHaveLength(0);
  });
});

describe('paced check: rate-limit rounds', () => {
  /**
   * Three ports; at 1000 ms (no sooner than the last scheduled batch) the host answers one with
   * an error: it pays errors at the pace of a limit, so rounds start a round's spacing later.
   */
  async function rateLimited() {
    const run = scripted([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(1000);
    const batch = run.at(1000).map((d) => d.port);
    const errored = batch[0] as number;
    run.one(1000, errored).report(closedAnswer(`${errored} closed`));
    await vi.advanceTimersByTimeAsync(250);
    const silent = batch.slice(1);
    return { run, errored, silent };
  }

  it('dials each silent port again and then the canary, the port whose error came last', async () => {
    const { run, errored, silent } = await rateLimited();
    const round = run.at(1250).map((d) => d.port);
    expect(round.slice(0, -1).sort()).toEqual([...silent].sort());
    expect(round.at(-1)).toBe(errored);
  });

  it("drops a round's dial and the canary after ROUND_DIAL_LIFE_MS, while scheduled dials stay open", async () => {
    const { run } = await rateLimited();
    await vi.advanceTimersByTimeAsync(ROUND_DIAL_LIFE_MS - 1);
    expect(run.at(1250).some((d) => d.closed)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.at(1250).map((d) => d.closedAt)).toEqual(run.at(1250).map(() => 1250 + ROUND_DIAL_LIFE_MS));
    expect(run.at(1000).filter((d) => d.closed)).toHaveLength(0);
  });

  it("never lets the canary's answer settle its port: told it lost, and the port keeps its result", async () => {
    const { run, errored, silent } = await rateLimited();
    const canary = run.at(1250).at(-1) as FakeDial;
    const claims: boolean[] = [];
    canary.report({ kind: 'answer', result: 'canary says open', error: false, claim: (won) => claims.push(won) });
    expect(claims).toEqual([false]);
    // A handshake is no error the host paid for: the ports before it are still asked.
    await vi.advanceTimersByTimeAsync(250);
    expect(run.at(1500).map((d) => d.port)).toEqual(expect.arrayContaining([...silent]));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(run.outcome()?.results?.[errored - 1]).toBe(`${errored} closed`);
    run.leftClean();
  });

  it('clears the ports dialed before the canary when its error comes back: they are asked no more', async () => {
    const { run } = await rateLimited();
    (run.at(1250).at(-1) as FakeDial).report(closedAnswer('canary closed'));
    await vi.advanceTimersByTimeAsync(250);
    expect(run.at(1500)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1499);
    expect(run.outcome()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(run.outcome()?.results).toBeDefined();
    expect(run.now()).toBe(3000);
  });

  it('without the canary answering, asks the silent ports again, then reads them with the rate-limit hint', async () => {
    const { run, silent } = await rateLimited();
    await vi.advanceTimersByTimeAsync(250);
    const round = run.at(1500).map((d) => d.port);
    expect(round.slice(0, -1).sort()).toEqual([...silent].sort());
    await vi.advanceTimersByTimeAsync(10_000);
    const results = run.outcome()?.results ?? [];
    for (const port of silent) expect(results[port - 1]).toBe(`${port} silent icmp-rate-limit`);
    run.leftClean();
  });

  it('closes the scheduled dials at the deadline while the rounds go on past it', async () => {
    const { run, errored } = await rateLimited();
    // The host is still paying errors near the deadline, so the check runs on past it.
    await vi.advanceTimersByTimeAsync(2000 - 1250);
    const late = run.at(2000)[0] as FakeDial;
    late.report(closedAnswer('answered in a round'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(run.outcome()).toBeUndefined();
    const unanswered = run.dials.filter((d) => d.at <= 1000 && d.port !== errored && d.port !== late.port);
    expect(unanswered).toHaveLength(5);
    expect(unanswered.map((d) => d.closedAt)).toEqual(unanswered.map(() => 3000));
  });

  it('after the check ends, a canary that reports changes nothing and dials nothing', async () => {
    const { run } = await rateLimited();
    const canary = run.at(1250).at(-1) as FakeDial;
    (run.at(1250)[0] as FakeDial).report({ kind: 'local', error: new LocalProbeError('EMFILE') });
    await vi.advanceTimersByTimeAsync(0);
    const dialed = run.dials.length;
    canary.report(closedAnswer('late canary'));
    await vi.advanceTimersByTimeAsync(5000);
    expect(run.dials).toHaveLength(dialed);
    expect(run.outcome()?.error).toBeInstanceOf(LocalProbeError);
    run.leftClean();
  });

  it("fails the check on a canary's local failure, and ignores a canary that ends with nothing", async () => {
    const { run } = await rateLimited();
    (run.at(1250).at(-1) as FakeDial).report({ kind: 'void' });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.outcome()).toBeUndefined();

    const { run: failing } = await rateLimited();
    const canary = failing.at(1250).at(-1) as FakeDial;
    const failure = new LocalProbeError('ENOBUFS');
    canary.report({ kind: 'local', error: failure });
    await vi.advanceTimersByTimeAsync(0);
    expect(failing.outcome()).toEqual({ error: failure });
    expect(failing.dials.filter((d) => d !== canary && d.at !== 1000).every((d) => d.closed)).toBe(true);
  });

  it("clears the ports dialed before a round's dial that gets an error: they are not asked again", async () => {
    const { run } = await rateLimited();
    const [first, second] = run.at(1250) as [FakeDial, FakeDial];
    second.report(closedAnswer(`${second.port} closed`));
    await vi.advanceTimersByTimeAsync(250);
    expect(run.at(1500).map((d) => d.port)).not.toContain(first.port);
  });
});
