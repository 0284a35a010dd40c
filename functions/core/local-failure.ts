/**
 * A failure of this machine, as both probes report it: never a port state, always the request's
 * 503 (DESIGN §2), and the socket error's code that tells one from an answer.
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

/** The `code` of a socket error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
