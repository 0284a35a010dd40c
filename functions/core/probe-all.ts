/**
 * Shared by the probes: run one probe per port concurrently, and if any port hits a local
 * failure, abort every other one at once and throw it: a half-answered check is not an answer.
 */

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
