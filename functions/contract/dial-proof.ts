/**
 * Dial proof, the listener's side of the contract: the caller may hand the checker a one-time
 * token; after the handshake the probe writes exactly one line carrying it, then closes. A
 * listener that receives its own token knows the connection reached *this* machine, not a
 * router or another host answering for it. The token is bounded in size and charset, never
 * stored, never logged. The service validates it (`core/dial-proof.ts`); the CLI and the smoke
 * test make one and wait for its line.
 */
import { randomBytes } from 'node:crypto';

/** What a token may look like: URL- and log-safe, long enough to be unguessable. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** The only bytes the probe ever sends: one fixed-format line. */
export function proofLine(token: string): string {
  return `DIALBACK ${token}\n`;
}

/** A fresh random token (128 bits). */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}
