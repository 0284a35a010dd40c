/**
 * Reads the HMAC key for caller hashes from Secrets Manager, once per container: the first
 * request waits for it, later ones reuse it. A failed read is retried on the next request
 * instead of being cached, and surfaces as `Unavailable` (503), never as a wrong hash.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Unavailable } from './errors.ts';

/** Returns a memoized loader of the secret's string value. */
export function secretKeyLoader(secretArn: string, region: string): () => Promise<string> {
  const client = new SecretsManagerClient({ region, maxAttempts: 2 });
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= client
      .send(new GetSecretValueCommand({ SecretId: secretArn }), { abortSignal: AbortSignal.timeout(2000) })
      .then((out) => {
        if (out.SecretString === undefined || out.SecretString.length < 16) {
          throw new Error('the rate-limit key secret is empty or too short');
        }
        return out.SecretString;
      })
      .catch((error: unknown) => {
        pending = undefined;
        throw new Unavailable('The service is starting up and could not read its key. Try again shortly.', 2, {
          cause: error,
        });
      });
    return pending;
  };
}
