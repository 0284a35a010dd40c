/**
 * Shared by the probes: the local-failure error, the socket error's code, one way to round a
 * round trip, and running one probe per port concurrently (if any port hits a local failure,
 * every other one is aborted at once and the failure thrown: a half-answered check is not an
 * answer).
 */

/** A failure of this machine, not of the caller's port (`EMFILE`, `ENOBUFS`, `EADDRNOTAVAIL`, …). */
export class LocalProbeError extends Error {
  override readonly name = 'LocalProbeError';
  readonly code: string;
  constructor(code: string, options?: ErrorOptions) {
    super(`the checker could not open a connection (${code})`, options);
    this.code = code;
  }
}

/** A round trip in ms, to a tenth of a millisecond, as every result reports it. */
export function roundedMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Runs `one` for every port under one abort signal chained to `outer`; results in port order. */
export async function probeAll<T>(
  ports: readonly number[],
  outer: AbortSignal | undefined,
  one: (port: number, signal: AbortSignal) => Promise<T>,
): Promise<T[]> {
  const controller = new AbortController();
  const forward = (): void => controller.abort();
  outer?.addEventListener('abort', forward, { once: true });
  if (outer?.aborted) controller.abort();
  try {
    return await Promise.all(
      ports.map((port) =>
        one(port, controller.signal).catch((error: unknown) => {
          controller.abort();
          throw error;
        }),
      ),
    );
  } finally {
    outer?.removeEventListener('abort', forward);
  }
}

/** The `code` of a socket error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
