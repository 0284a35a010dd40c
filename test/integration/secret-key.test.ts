/**
 * The key loader against a real Secrets Manager client talking to the loopback stub (the SDK's
 * standard AWS_ENDPOINT_URL_SECRETS_MANAGER points it there): one read per container, a failed
 * read is Unavailable and retried on the next request, never cached.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Unavailable } from '../../functions/core/errors.ts';
import { secretKeyLoader } from '../../functions/core/secret-key.ts';
import { type SecretsManagerStub, startSecretsManagerStub } from '../support/secrets-manager-stub.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:dialback-key';
const stubs: SecretsManagerStub[] = [];

async function stubHolding(secret: string): Promise<SecretsManagerStub> {
  const stub = await startSecretsManagerStub(ARN, secret);
  stubs.push(stub);
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', stub.endpoint);
  return stub;
}

beforeEach(() => {
  // Sent only to the loopback stub, which checks no signature.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
});
afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(async () => {
  await Promise.all(stubs.map((s) => s.close()));
});

async function unavailable(load: () => Promise<string>): Promise<Unavailable> {
  const error = await load().then(
    () => expect.unreachable('the key was read'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Unavailable);
  expect((error as Unavailable).message).toBe(
    'The service is starting up and could not read its key. Try again shortly.',
  );
  expect((error as Unavailable).retryAfterSeconds).toBe(2);
  return error as Unavailable;
}

describe('secretKeyLoader', () => {
  it('reads the key once and reuses it for later requests', async () => {
    const stub = await stubHolding('0123456789abcdef0123');
    const load = secretKeyLoader(ARN, 'us-east-1');
    await expect(Promise.all([load(), load()])).resolves.toEqual(['0123456789abcdef0123', '0123456789abcdef0123']);
    await expect(load()).resolves.toBe('0123456789abcdef0123');
    expect(stub.requests).toEqual([ARN]);
  });

  it('accepts a key of 16 characters and refuses one of 15, asking again next time', async () => {
    await stubHolding('0123456789abcdef');
    await expect(secretKeyLoader(ARN, 'us-east-1')()).resolves.toBe('0123456789abcdef');
    const short = await stubHolding('0123456789abcde');
    const load = secretKeyLoader(ARN, 'us-east-1');
    const error = await unavailable(load);
    expect((error.cause as Error).message).toBe('the rate-limit key secret is empty or too short');
    await unavailable(load);
    expect(short.requests).toEqual([ARN, ARN]);
  });

  it('answers Unavailable, keeping the service error as the cause, when the secret is missing', async () => {
    await stubHolding('0123456789abcdef0123');
    const error = await unavailable(secretKeyLoader(`${ARN}-gone`, 'us-east-1'));
    expect(error.cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
