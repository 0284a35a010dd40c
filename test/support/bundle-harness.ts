/**
 * Everything the deployed bundle needs to run on this machine: a real dynalite for its table,
 * the Secrets Manager stub for its key, and the environment Lambda would give it (the
 * template's variables, with references replaced by these local stand-ins). The bundle test
 * and the memory bench both start it.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { type EmbeddedTable, startEmbeddedTable } from '../../infra/local/embedded-table.ts';
import { type SecretsManagerStub, startSecretsManagerStub } from './secrets-manager-stub.ts';

/** Fixed names of the stand-ins. */
export const HARNESS = Object.freeze({
  tableName: 'bundle-counters',
  secretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:dialback-key-AbCdEf',
  key: 'a-test-key-that-is-long-enough-0123456789',
  /** What CloudFormation would make of `egress=vpc`'s EGRESS_ADDRESSES: an EIP and a VPC /56. */
  egressAddresses: '203.0.113.25,2600:1f18:4a3:6e00::/56',
  /** What CloudFormation would make of each HTTP API's `ApiEndpoint`. */
  apiUrls: Object.freeze({
    API_URL_IPV4: 'https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com',
    API_URL_DUAL_STACK: 'https://f6g7h8i9j0.execute-api.eu-central-1.amazonaws.com',
  }) as Readonly<Record<string, string>>,
});

/** The running stand-ins and the environment to run the bundle with. */
export interface BundleHarness {
  readonly table: EmbeddedTable;
  readonly secrets: SecretsManagerStub;
  /** The function's environment as deployed, pointed at the stand-ins. */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** `functionEnv` plus what Lambda sets and where the SDK should send its calls. */
  readonly processEnv: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

function localValue(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (name === 'TABLE_NAME') return HARNESS.tableName;
  if (name === 'RATE_LIMIT_KEY_SECRET_ARN') return HARNESS.secretArn;
  if (name === 'EGRESS_ADDRESSES') return HARNESS.egressAddresses;
  const apiUrl = HARNESS.apiUrls[name];
  if (apiUrl !== undefined) return apiUrl;
  throw new Error(`environment variable ${name} is a reference the harness has no stand-in for`);
}

/** The function's environment in `template`, references replaced by the harness's stand-ins. */
export function bundleEnvironment(template: Template): Record<string, string> {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  if (functions.length !== 1) throw new Error(`expected one function in the template, found ${functions.length}`);
  const variables = (functions[0]?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, localValue(k, v)]));
}

/** Starts dynalite and the stub and derives the environment from `template`. */
export async function startBundleHarness(template: Template, region: string): Promise<BundleHarness> {
  const functionEnv = bundleEnvironment(template);
  const table = await startEmbeddedTable(HARNESS.tableName);
  let secrets: SecretsManagerStub;
  try {
    secrets = await startSecretsManagerStub(HARNESS.secretArn, HARNESS.key);
  } catch (error) {
    await table.close();
    throw error;
  }
  return {
    table,
    secrets,
    functionEnv,
    processEnv: {
      ...functionEnv,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      DYNAMODB_ENDPOINT: table.endpoint,
    },
    close: async () => {
      await table.close();
      await secrets.close();
    },
  };
}
