/**
 * Stands in for `@smithy/core/event-streams` in the Lambda bundle only (an esbuild alias,
 * `LAMBDA_BUNDLE_ARGS` in infra/aws/api-function.ts). The SDK's HTTP protocol loads that module only
 * for operations that stream events, and Dialback calls two that do not (DynamoDB `UpdateItem`,
 * Secrets Manager `GetSecretValue`); bundled, its codecs are about 15 KB that every cold start
 * would parse for nothing. Should an event-stream operation ever be called, it fails loudly.
 */

function unused(): never {
  throw new Error('event streams are left out of the Lambda bundle (functions/core/lambda-no-event-streams.ts)');
}

/** The class the SDK's protocol would construct for an event-stream operation. */
export class EventStreamSerde {
  constructor() {
    unused();
  }
}

/** The marshaller factory the SDK's protocol would ask for. */
export const eventStreamSerdeProvider = (): never => unused();
