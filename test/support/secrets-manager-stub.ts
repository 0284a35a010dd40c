/**
 * Just enough of the Secrets Manager JSON protocol (`GetSecretValue`, AWS JSON 1.1) on
 * 127.0.0.1 for the deployed bundle to read its key in tests. There is no Secrets Manager
 * here and no emulator worth its weight for one call, so this is the one stand-in; the SDK
 * client in the bundle is real and is pointed here by its standard
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` variable.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running stub holding one secret. */
export interface SecretsManagerStub {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The `SecretId` of every `GetSecretValue` call received, in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

function reply(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

/** Serves `secretString` under `secretArn`; any other id or operation gets the service's error shape. */
export async function startSecretsManagerStub(secretArn: string, secretString: string): Promise<SecretsManagerStub> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
        reply(res, 400, { __type: 'InvalidRequestException', message: `unsupported operation ${String(target)}` });
        return;
      }
      let secretId = '';
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (typeof parsed === 'object' && parsed !== null && 'SecretId' in parsed) secretId = String(parsed.SecretId);
      } catch {
        reply(res, 400, { __type: 'InvalidRequestException', message: 'body is not JSON' });
        return;
      }
      requests.push(secretId);
      if (secretId !== secretArn) {
        reply(res, 400, {
          __type: 'ResourceNotFoundException',
          message: 'Secrets Manager can’t find the specified secret.',
        });
        return;
      }
      reply(res, 200, {
        ARN: secretArn,
        Name: secretArn.split(':').at(-1),
        SecretString: secretString,
        VersionId: '00000000-0000-4000-8000-000000000000',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_700_000_000,
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    requests,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
