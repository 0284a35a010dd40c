/**
 * Dial proof: the caller may hand the checker a one-time token; after the handshake the probe
 * writes exactly one line carrying it, then closes. A listener that receives its own token
 * knows the connection reached *this* machine, not a router or another host answering for it.
 * The token is bounded in size and charset, never stored, never logged.
 */
import { randomBytes } from 'node:crypto';
import { BadRequest } from './errors.ts';

/** What a token may look like: URL- and log-safe, long enough to be unguessable. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** The only bytes the probe ever sends: one fixed-format line. */
export function proofLine(token: string): string {
  return `DIALBACK ${token}\n`;
}

/** Validates a caller's token, or throws `BadRequest` without echoing it. */
export function parseToken(raw: string): string {
  if (!TOKEN_PATTERN.test(raw)) {
    throw new BadRequest('A token must be 16 to 64 characters of A-Z, a-z, 0-9, "-" or "_".');
  }
  return raw;
}

/** A fresh random token (128 bits). */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}
