import { describe, expect, it } from 'vitest';
import {
  attemptOffsets,
  createPacing,
  maxRounds,
  type PacingAction,
  RATE_LIMIT_EXTENSION_MS,
  RATE_LIMIT_QUIET_MS,
  RATE_LIMIT_ROUND_MS,
  rotated,
} from '../../functions/core/pacing.ts';

/** The shipped TCP schedule: 5 attempts 250 ms apart, a 3 s deadline. */
const SHIPPED = { timeoutMs: 3000, attempts: 5, attemptSpacingMs: 250 } as const;

const dials = (actions: readonly PacingAction[]) =>
  actions.filter((a) => a.type === 'dial').map((a) => (a.type === 'dial' ? a.port : -1));
const silences = (actions: readonly PacingAction[]) =>
  actions.flatMap((a) => (a.type === 'silence' ? [{ port: a.port, hint: a.hint }] : []));
const has = (actions: readonly PacingAction[], type: PacingAction['type']) => actions.some((a) => a.type === type);

describe('pacing', () => {
  it('schedules the attempts that fit in the window, spaced as asked', () => {
    expect(attemptOffsets(SHIPPED)).toEqual([0, 250, 500, 750, 1000]);
    expect(attemptOffsets({ ...SHIPPED, attempts: 8, attemptWindowMs: 2000 })).toEqual([
      0, 250, 500, 750, 1000, 1250, 1500, 1750,
    ]);
    expect(attemptOffsets({ timeoutMs: 600, attempts: 5, attemptSpacingMs: 250 })).toEqual([0, 250, 500]);
    expect(attemptOffsets({ ...SHIPPED, attempts: 1 })).toEqual([0]);
  });

  it('rotates each batch so every port takes its turn first', () => {
    expect(rotated([1, 2, 3], 0)).toEqual([1, 2, 3]);
    expect(rotated([1, 2, 3], 1)).toEqual([2, 3, 1]);
    expect(rotated([1, 2, 3], 4)).toEqual([2, 3, 1]);
    expect(rotated([], 3)).toEqual([]);
  });

  it('dials every port at the start and each later batch on time, in rotating order', () => {
    const p = createPacing([1, 2, 3], SHIPPED);
    expect(dials(p.start(0))).toEqual([1, 2, 3]);
    expect(p.nextWakeAt()).toBe(250);
    expect(dials(p.tick(249))).toEqual([]);
    expect(dials(p.tick(250))).toEqual([2, 3, 1]);
    expect(dials(p.tick(500))).toEqual([3, 1, 2]);
  });

  it('asks only silent ports in later batches, and finishes once every port is answered', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    expect(p.answer(1, { error: false }, 10)).toEqual([]);
    expect(dials(p.tick(250))).toEqual([2]);
    expect(p.answer(2, { error: true, tag: { round: 1, position: 0 } }, 260)).toEqual([{ type: 'finish' }]);
    expect(p.done).toBe(true);
    expect(p.tick(5000)).toEqual([]);
    expect(p.nextWakeAt()).toBeUndefined();
  });

  it('finishes at once with nothing to dial', () => {
    const p = createPacing([], SHIPPED);
    expect(p.start(0)).toEqual([{ type: 'finish' }]);
  });

  it('reads silence at the deadline exactly, with no hint, when the host sent no error', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    expect(silences(p.tick(2999))).toEqual([]);
    const at = p.tick(3000);
    expect(has(at, 'end-schedule')).toBe(true);
    expect(silences(at)).toEqual([
      { port: 1, hint: undefined },
      { port: 2, hint: undefined },
    ]);
    expect(at.at(-1)).toEqual({ type: 'finish' });
  });

  it('runs no rounds for errors that come at once, as from a host without a limit', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    p.answer(1, { error: true, tag: { round: 0, position: 0 } }, 5);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    expect(p.nextWakeAt()).toBe(3000);
    expect(silences(p.tick(3000))).toEqual([{ port: 2, hint: undefined }]);
  });

  it('starts rounds one round after a paced error: each silent port once, then the canary', () => {
    const p = createPacing([1, 2, 3], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    // The host's limit pays out an error after every port has been asked.
    expect(p.answer(1, { error: true }, 1100)).toEqual([]);
    expect(p.nextWakeAt()).toBe(1100 + RATE_LIMIT_ROUND_MS);
    const round = p.tick(1350);
    expect(round.filter((a) => a.type === 'dial' || a.type === 'canary')).toEqual([
      { type: 'dial', port: 3, tag: { round: 5, position: 0 }, scheduled: false },
      { type: 'dial', port: 2, tag: { round: 5, position: 1 }, scheduled: false },
      { type: 'canary', port: 1, tag: { round: 5, position: 2 } },
    ]);
  });

  it('clears the ports dialed before an answered one in the same round: they keep the deadline, with the hint', () => {
    const p = createPacing([1, 2, 3], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1100);
    p.tick(1350); // round 5: 3, 2, then the canary 1
    // Port 2's round dial is answered: the host had an error to spare when port 3's SYN arrived.
    p.answer(2, { error: true, tag: { round: 5, position: 1 } }, 1360);
    for (let t = 1600; t < 3000; t += 250) p.tick(t);
    const at = p.tick(3000);
    expect(silences(at)).toEqual([{ port: 3, hint: 'icmp-rate-limit' }]);
    expect(at.at(-1)).toEqual({ type: 'finish' });
  });

  it('a canary error clears the round before it too', () => {
    const p = createPacing([1, 2, 3], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1100);
    p.tick(1350);
    p.canaryError(1, { round: 5, position: 2 }, 1355);
    const at = p.tick(3000);
    expect(silences(at)).toEqual([
      { port: 2, hint: 'icmp-rate-limit' },
      { port: 3, hint: 'icmp-rate-limit' },
    ]);
  });

  it('keeps asking past the deadline while the host answers, then settles with the hint', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 2900);
    // The paced error already set a round for 3150: the deadline settles nothing and waits for it.
    expect(silences(p.tick(3000))).toEqual([]);
    expect(p.nextWakeAt()).toBe(2900 + RATE_LIMIT_ROUND_MS);
    expect(dials(p.tick(3150))).toEqual([2]);
    // The canary keeps answering every round: the extension runs to its end and no further.
    p.canaryError(1, { round: 0, position: 0 }, 3151);
    let t = 3150;
    while (!p.done && t < 3000 + RATE_LIMIT_EXTENSION_MS + 1000) {
      const next = p.nextWakeAt() ?? Number.POSITIVE_INFINITY;
      t = next;
      const actions = p.tick(t);
      const canary = actions.find((a) => a.type === 'canary');
      if (canary?.type === 'canary') p.canaryError(canary.port, { round: 0, position: 0 }, t + 1);
      if (p.done) {
        expect(silences(actions)).toEqual([{ port: 2, hint: 'icmp-rate-limit' }]);
      }
    }
    expect(t).toBe(SHIPPED.timeoutMs + RATE_LIMIT_EXTENSION_MS);
  });

  it('never runs past the request deadline', () => {
    const p = createPacing([1, 2], { ...SHIPPED, checkDeadlineMs: 3600 });
    p.start(0);
    p.answer(1, { error: true }, 2900);
    p.tick(3000);
    let t = 3000;
    while (!p.done && t < 10_000) {
      t = p.nextWakeAt() ?? Number.POSITIVE_INFINITY;
      p.tick(t);
      p.canaryError(1, { round: 0, position: 0 }, t);
    }
    expect(t).toBe(3600);
  });

  it('stops the extension once the host has been quiet for the quiet time', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    p.answer(1, { error: true }, 2900);
    p.tick(3000);
    let t = 3000;
    let last: PacingAction[] = [];
    while (!p.done && t < 10_000) {
      t = p.nextWakeAt() ?? Number.POSITIVE_INFINITY;
      last = p.tick(t);
    }
    expect(t).toBeGreaterThanOrEqual(2900 + RATE_LIMIT_QUIET_MS);
    expect(t).toBeLessThan(2900 + RATE_LIMIT_QUIET_MS + RATE_LIMIT_ROUND_MS);
    expect(silences(last)).toEqual([{ port: 2, hint: 'icmp-rate-limit' }]);
  });

  it('stops rounds before the deadline when the host goes quiet, and keeps the deadline', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1000);
    expect(dials(p.tick(1250))).toEqual([2]);
    // No error since 1000: at 2500 the host counts as quiet and no round goes out.
    for (let t = 1500; t <= 2250; t += 250) p.tick(t);
    expect(dials(p.tick(2500))).toEqual([]);
    expect(p.nextWakeAt()).toBe(3000);
    // Rounds ran, so the silence says the host was rate-limiting.
    expect(silences(p.tick(3000))).toEqual([{ port: 2, hint: 'icmp-rate-limit' }]);
  });

  it('ignores a second answer for a settled port', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    p.answer(1, { error: false }, 5);
    expect(p.answer(1, { error: true }, 2000)).toEqual([]);
    expect(p.nextWakeAt()).toBe(250);
  });
});

describe('pacing, UDP-shaped (8 datagrams within two thirds of the deadline)', () => {
  const UDP = { timeoutMs: 3000, attempts: 8, attemptSpacingMs: 250, attemptWindowMs: 2000 } as const;

  it('takes an error to a later scheduled datagram as paced: rounds start before the last batch', () => {
    const p = createPacing([1, 2, 3], UDP);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    // The host's token came back at 1 s and answered port 1's fifth datagram (batch 4).
    p.answer(1, { error: true, tag: { round: 4, position: 0 } }, 1001);
    expect(p.nextWakeAt()).toBe(1250);
    expect(dials(p.tick(1250))).toEqual([3, 2]);
    // One round after the error, the first round goes out beside the schedule, ending with the canary.
    const at = p.tick(1001 + RATE_LIMIT_ROUND_MS);
    expect(at.filter((a) => a.type === 'dial' && !a.scheduled).map((a) => (a.type === 'dial' ? a.port : 0))).toEqual(
      expect.arrayContaining([2, 3]),
    );
    expect(at.some((a) => a.type === 'canary' && a.port === 1)).toBe(true);
  });

  it('takes an error to the first datagram as unpaced: no rounds, the deadline holds', () => {
    const p = createPacing([1, 2], UDP);
    p.start(0);
    p.answer(1, { error: true, tag: { round: 0, position: 0 } }, 1);
    for (let t = 250; t <= 1750; t += 250) expect(p.tick(t).some((a) => a.type === 'canary')).toBe(false);
    expect(silences(p.tick(3000))).toEqual([{ port: 2, hint: undefined }]);
  });
});

describe('maxRounds', () => {
  it('counts rounds from one round after the earliest paced error to the end of the extension', () => {
    // First round at 500 ms (an error to the 250 ms batch), last before 7000 ms: 500, 750, …, 6750.
    expect(maxRounds(SHIPPED)).toBe(26);
    expect(maxRounds({ ...SHIPPED, checkDeadlineMs: 3000 })).toBe(10);
    expect(maxRounds({ ...SHIPPED, attempts: 1 })).toBe(27);
  });
});

describe('pacing, rules pinned one by one', () => {
  it('leaves out an attempt that would start exactly at the window', () => {
    expect(attemptOffsets({ timeoutMs: 750, attempts: 5, attemptSpacingMs: 250 })).toEqual([0, 250, 500]);
  });

  it('marks the schedule’s dials as scheduled and a round’s as not', () => {
    const p = createPacing([1, 2], SHIPPED);
    expect(p.start(0).every((a) => a.type !== 'dial' || a.scheduled)).toBe(true);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1100);
    const round = p.tick(1350).filter((a) => a.type === 'dial');
    expect(round).toEqual([{ type: 'dial', port: 2, tag: { round: 5, position: 0 }, scheduled: false }]);
  });

  it('is done, with nothing left to do, once it finishes', () => {
    const p = createPacing([], SHIPPED);
    p.start(0);
    expect(p.done).toBe(true);
    expect(p.tick(10_000)).toEqual([]);
    expect(p.answer(1, { error: true }, 10_001)).toEqual([]);
  });

  it('runs everything due in time order when one tick covers several', () => {
    const p = createPacing([1], SHIPPED);
    p.start(0);
    const all = p.tick(3000);
    // Every batch goes out before the deadline settles the port.
    expect(dials(all)).toEqual([1, 1, 1, 1]);
    expect(all.findIndex((a) => a.type === 'end-schedule')).toBeGreaterThan(
      all.findLastIndex((a) => a.type === 'dial'),
    );
  });

  it('works from any clock origin', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(100_000);
    expect(p.nextWakeAt()).toBe(100_250);
    // Early in the check and answering the first batch: not the pace of a limit, so no rounds.
    p.answer(1, { error: true, tag: { round: 0, position: 0 } }, 100_010);
    expect(p.nextWakeAt()).toBe(100_250);
    expect(silences(p.tick(103_000))).toEqual([{ port: 2, hint: undefined }]);
  });

  it('takes an early error with no tag (a later packet of its socket) as unpaced', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    expect(p.answer(1, { error: true }, 10)).toEqual([]);
    expect(p.nextWakeAt()).toBe(250);
  });

  it('settles a silence action with no hint key at all when there is none', () => {
    const p = createPacing([1], SHIPPED);
    p.start(0);
    const silence = p.tick(3000).find((a) => a.type === 'silence');
    expect(silence).toStrictEqual({ type: 'silence', port: 1 });
  });

  it('gives a port cleared by an unpaced answer no hint: the host was never seen rate-limiting', () => {
    const p = createPacing([1, 2, 3], SHIPPED);
    p.start(0);
    // Batch 0 went out 1, 2, 3; port 2's error came at once, to its first SYN: port 1 was a drop.
    p.answer(2, { error: true, tag: { round: 0, position: 1 } }, 1);
    expect(silences(p.tick(3000))).toEqual([
      { port: 1, hint: undefined },
      { port: 3, hint: undefined },
    ]);
  });

  it('settles a cleared port at the deadline while the extension goes on for the others', () => {
    const p = createPacing([1, 2, 3, 4], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1100);
    const round = p.tick(1350).filter((a) => a.type === 'dial');
    const order = round.map((a) => (a.type === 'dial' ? a.port : 0));
    // The second port of the round answers: the first was a plain drop.
    const [first, second] = order;
    p.answer(second ?? 0, { error: true, tag: { round: 5, position: 1 } }, 1360);
    // A later round leaves the cleared port out.
    expect(dials(p.tick(1600))).not.toContain(first);
    // The host keeps answering the canary up to the deadline.
    p.canaryError(1, { round: 0, position: 0 }, 2950);
    const atDeadline = p.tick(3000);
    expect(silences(atDeadline)).toEqual([{ port: first, hint: 'icmp-rate-limit' }]);
    expect(p.done).toBe(false);
  });

  it('starts rounds again when a host that went quiet answers once more', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1000);
    for (let t = 1250; t <= 2500; t += 250) p.tick(t);
    p.canaryError(1, { round: 0, position: 0 }, 2600);
    expect(p.nextWakeAt()).toBe(2600 + RATE_LIMIT_ROUND_MS);
  });

  it('runs one round chain however many paced errors come', () => {
    const p = createPacing([1, 2, 3], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 1100);
    p.answer(2, { error: true }, 1200);
    p.tick(1350);
    expect(p.nextWakeAt()).toBe(1350 + RATE_LIMIT_ROUND_MS);
  });

  it('ignores a late error for a port already answered open: it starts no rounds', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    p.answer(1, { error: false }, 5);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    expect(p.answer(1, { error: true }, 1100)).toEqual([]);
    expect(p.nextWakeAt()).toBe(3000);
  });

  it('has no extension when the request’s deadline is the probe’s: silence at the deadline, no hint', () => {
    const p = createPacing([1, 2], { ...SHIPPED, checkDeadlineMs: 3000 });
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 2950);
    expect(silences(p.tick(3000))).toEqual([{ port: 2, hint: undefined }]);
  });

  it('does not start a second round at the deadline while one is already set', () => {
    const p = createPacing([1, 2], SHIPPED);
    p.start(0);
    for (let t = 250; t <= 1000; t += 250) p.tick(t);
    p.answer(1, { error: true }, 2900);
    expect(dials(p.tick(3000))).toEqual([]);
  });
});
