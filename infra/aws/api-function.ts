/**
 * The function that dials back, as the stack defines it: its runtime, limits, environment and
 * the esbuild bundle that deploys (the AWS SDK inlined, code Lambda never runs aliased out, the
 * served browser code and CLI beside it as files).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type Stack, Stage } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { holdersFromDirectory } from '../../functions/build/holders-data.ts';
import { writeBundledAssets } from '../../functions/build/served-code.ts';
import { DEFAULT_EGRESS_ENVIRONMENT, type VpcEgress } from './egress.ts';
import type { DialbackSettings } from './settings.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The asset's last step (copy the served files in, move the source map out), on Node's file API. */
const AFTER_BUNDLING = fileURLToPath(new URL('./after-bundling.mjs', import.meta.url));

/**
 * Lets the ESM bundle load CommonJS dependencies (parts of the AWS SDK call `require` on Node
 * built-ins, which an ES module does not have).
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __dialbackCreateRequire } from 'node:module'; const require = __dialbackCreateRequire(import.meta.url);";

/**
 * esbuild arguments for the function's bundle: aliases that keep code Lambda never runs out of
 * what every cold start parses (paths resolved from the project root, where the bundler runs).
 * - Lambda puts the role's credentials in the environment, so the SDK's default credential chain
 *   is replaced by the environment provider alone (functions/core/lambda-credentials.ts): SSO,
 *   ini files, process, web identity and metadata providers and their STS/SSO clients stay out.
 * - The SDK loads its event-stream codecs only for streaming operations, which Dialback never
 *   calls (functions/core/lambda-no-event-streams.ts).
 * - DynamoDB's client sets up endpoint discovery, and an LRU cache for it, though it is off
 *   unless asked for (functions/core/lambda-no-endpoint-discovery.ts).
 */
export const LAMBDA_BUNDLE_ARGS = Object.freeze({
  '--alias:@aws-sdk/credential-provider-node': './functions/core/lambda-credentials.ts',
  '--alias:@smithy/core/event-streams': './functions/core/lambda-no-event-streams.ts',
  '--alias:@aws-sdk/middleware-endpoint-discovery': './functions/core/lambda-no-endpoint-discovery.ts',
});

/** What the function is given by the rest of the stack. */
export interface ApiFunctionProps {
  readonly settings: DialbackSettings;
  readonly role: IRole;
  readonly logGroup: ILogGroup;
  readonly table: ITable;
  readonly key: ISecret;
  /** The `vpc` egress, or undefined for `default` (no VPC). */
  readonly egress: VpcEgress | undefined;
  /** From the longest healthy check plus the request's own overhead (stack.ts). */
  readonly timeoutSeconds: number;
}

/** The API function, bundled for Lambda with the served files beside it. */
export function apiFunction(stack: Stack, props: ApiFunctionProps): NodejsFunction {
  const { settings, egress } = props;
  // The served code (widget, page script, standalone CLI, OpenAPI document), compiled once per
  // synth into the cloud assembly's directory, then copied beside the bundle (functions/web/assets.ts).
  const outdir = Stage.of(stack)?.outdir ?? tmpdir();
  const holders = settings.holdersDir === undefined ? undefined : holdersFromDirectory(settings.holdersDir);
  const servedFiles = writeBundledAssets(join(outdir, 'dialback-served'), holders);
  // Where the bundle's source map goes: beside the synth's output, never inside the Lambda asset.
  const sourceMaps = join(outdir, 'source-maps');
  return new NodejsFunction(stack, 'ApiFunction', {
    description: 'Dialback: dials back to the caller and reports open, closed or filtered',
    entry: `${REPO_ROOT}functions/api/index.ts`,
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: `${REPO_ROOT}package-lock.json`,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: settings.memoryMb,
    timeout: Duration.seconds(props.timeoutSeconds),
    role: props.role,
    logGroup: props.logGroup,
    loggingFormat: LoggingFormat.JSON,
    applicationLogLevelV2: ApplicationLogLevel.INFO,
    systemLogLevelV2: SystemLogLevel.WARN,
    ...(settings.reservedConcurrency === undefined
      ? {}
      : { reservedConcurrentExecutions: settings.reservedConcurrency }),
    ...egress?.functionPlacement(),
    // The DESIGN §5 settings. Deployed mode (public targets only, port 25 untestable, key
    // from Secrets Manager) is fixed in functions/api/index.ts, so nothing here can relax it.
    environment: {
      TABLE_NAME: props.table.tableName,
      RATE_LIMIT_PER_MINUTE: String(settings.ratePerMinute),
      RATE_LIMIT_PER_DAY: String(settings.ratePerDay),
      MAX_PORTS: String(settings.maxPorts),
      PROBE_TIMEOUT_MS: String(settings.probeTimeoutMs),
      CORS_ALLOW_ORIGINS: settings.corsOrigins.join(','),
      RATE_LIMIT_KEY_SECRET_ARN: props.key.secretArn,
      // IPV6_EGRESS and EGRESS_ADDRESSES. Outside a VPC a Lambda has no IPv6 route: an IPv6
      // caller is answered "untestable" instead of a false "filtered", and the source is not fixed.
      ...(egress?.functionEnvironment() ?? DEFAULT_EGRESS_ENVIRONMENT),
      // No NODE_OPTIONS=--enable-source-maps: Node would read and parse the map at every
      // cold start (npm run bench -- handler measures it); the map stays in cdk.out for reading.
    },
    bundling: {
      // Bundled locally by the esbuild devDependency: synth needs no Docker.
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: 'node24',
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      // Bundle the SDK too: the deployed code is exactly the locked versions the tests ran,
      // not whatever SDK the runtime happens to carry, and the bundle runs on its own.
      bundleAwsSDK: true,
      externalModules: [],
      minify: true,
      // Names are not kept through minification (18 KB of every cold start): the log line
      // records an error's type, code and message, which the error classes name themselves,
      // never a stack. A stack trace, should one appear, reads back through the source map,
      // written to `cdk.out/source-maps/` (never into the asset, where Lambda would carry
      // 400 KB it never reads).
      sourceMap: true,
      sourceMapMode: SourceMapMode.EXTERNAL,
      sourcesContent: false,
      esbuildArgs: LAMBDA_BUNDLE_ARGS,
      metafile: false,
      // Lambda has no compiler: the widget, the page script and the standalone CLI are compiled
      // now and go beside the bundle as gzip files, read on first use (functions/web/assets.ts),
      // so they weigh nothing on a cold start.
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_input: string, output: string) => [
          [process.execPath, AFTER_BUNDLING, output, sourceMaps, ...servedFiles].map((a) => `"${a}"`).join(' '),
        ],
      },
    },
  });
}
