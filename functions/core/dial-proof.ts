/**
 * The service's side of the dial proof (`contract/dial-proof.ts`): a caller's token is checked
 * against the contract's pattern before the probe writes it, so only a bounded, URL- and
 * log-safe line ever leaves the checker.
 */
import { TOKEN_PATTERN } from '../contract/dial-proof.ts';
import { BadRequest } from './errors.ts';

/** Validates a caller's token, or throws `BadRequest` without echoing it. */
export function parseToken(raw: string): string {
  if (!TOKEN_PATTERN.test(raw)) {
    throw new BadRequest('A token must be 16 to 64 characters of A-Z, a-z, 0-9, "-" or "_".');
  }
  return raw;
}
