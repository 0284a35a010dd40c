/** probeAll: one probe per port under one signal, results in port order, the first failure aborts the rest. */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { errorCode, probeAll } from '../../functions/core/probe-all.ts';

/** A promise that settles when `signal` aborts, with the port it was given. */
function untilAborted(signal: AbortSignal, port: number): Promise<number> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error(`aborted ${port}`)), { once: true });
  });
}

describe('probeAll', () => {
  it('gives results in port order whatever order they finish in', async () => {
    const gates = new Map<number, () => void>();
    const running = probeAll(
      [1, 2, 3],
      undefined,
      (port) =>
        new Promise<string>((resolve) => {
          gates.set(port, () => resolve(`p${port}`));
        }),
    );
    for (const port of [3, 1, 2]) gates.get(port)?.();
    expect(await running).toEqual(['p1', 'p2', 'p3']);
  });

  it('aborts every other port and throws the first failure', async () => {
    const signals: AbortSignal[] = [];
    const failure = new Error('local failure');
    const running = probeAll([1, 2, 3], undefined, (port, signal) => {
      signals.push(signal);
      return port === 2 ? Promise.reject(failure) : untilAborted(signal, port);
    });
    await expect(running).rejects.toBe(failure);
    expect(signals).toHaveLength(3);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  it('forwards an abort of the outer signal to the running ports', async () => {
    const outer = new AbortController();
    const inner: AbortSignal[] = [];
    const running = probeAll([1, 2], outer.signal, (port, signal) => {
      inner.push(signal);
      return untilAborted(signal, port);
    });
    expect(inner.some((signal) => signal.aborted)).toBe(false);
    outer.abort();
    await expect(running).rejects.toThrow('aborted 1');
    expect(inner.every((signal) => signal.aborted)).toBe(true);
  });

  it('starts the ports already aborted when the outer signal was', async () => {
    const outer = new AbortController();
    outer.abort();
    const seen: boolean[] = [];
    await probeAll([1], outer.signal, (_port, signal) => {
      seen.push(signal.aborted);
      return Promise.resolve(0);
    });
    expect(seen).toEqual([true]);
  });

  it('leaves no listener on the outer signal, whether the ports succeed or fail', async () => {
    const outer = new AbortController();
    await probeAll([1, 2], outer.signal, (port) => Promise.resolve(port));
    await expect(probeAll([1], outer.signal, () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
  });
});

describe('errorCode', () => {
  it('reads a string code and nothing else', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'EMFILE' }))).toBe('EMFILE');
    expect(errorCode(new Error('no code'))).toBeUndefined();
    expect(errorCode(Object.assign(new Error('x'), { code: 24 }))).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });
});
