/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundle only (an esbuild
 * alias, `LAMBDA_BUNDLE_ARGS` in infra/aws/api-function.ts). Lambda hands a function its role's
 * credentials in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`), so the default chain's other links never run there: SSO, shared ini
 * files, `credential_process`, web identity, container and instance metadata, and the STS and
 * SSO clients they carry, about 100 KB the bundle would otherwise load at every cold start.
 * The local server and the tests keep the SDK's full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The SDK clients call `defaultProvider(init)` for their credentials; here it is the environment. */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> => fromEnv(init);
