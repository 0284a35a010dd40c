/**
 * The deploy-time settings of the stack, read from CDK context (`-c key=value` or `cdk.json`)
 * and validated before any construct exists, so a bad value fails `cdk synth` with a message
 * naming the key and the value instead of producing a stack whose function cannot start.
 *
 * Settings the function itself reads (limits, ports, timeout, CORS) are checked by the
 * function's own `loadConfig`, run over exactly the environment the stack will give it: one
 * rule set, so synth refuses precisely what a cold start would refuse.
 */
import { HoldersDataError, holdersFromDirectory } from '../../functions/build/holders-data.ts';
import { CONFIG_DEFAULTS, ConfigError, loadConfig } from '../../functions/core/config.ts';

/**
 * How checks leave AWS. `default`: the function runs outside any VPC (cheapest; IPv4 only, from
 * an address AWS picks per execution environment) behind one IPv4-only API. `vpc`: a dual-stack
 * VPC with a NAT gateway (one Elastic IP) for IPv4 and an egress-only internet gateway for IPv6,
 * so probes can reach IPv6 callers, who arrive through a second, dual-stack API, and always
 * leave from addresses a firewall can allowlist.
 */
export const EGRESS_MODES = ['default', 'vpc'] as const;

/** One of `EGRESS_MODES`. */
export type EgressMode = (typeof EGRESS_MODES)[number];

/** Everything a deployment can choose; `readSettings` fills in the defaults. */
export interface DialbackSettings {
  /**
   * The one region the stack lives in; checks dial out from here (the `checkedFrom` label).
   * @default 'us-east-1'
   */
  readonly region: string;
  /**
   * Every region of a multi-region deployment (`-c regions=eu-central-1,us-east-1`), the
   * primary first: one complete stack per region, and the primary lists them all at `/regions`.
   * `region` is then the primary. Absent for one region, which builds exactly the one stack.
   * @default - one region, `region`
   */
  readonly regions?: readonly string[];
  /**
   * Where probes leave from (see `EGRESS_MODES`): `vpc` adds IPv6 checks and fixed source
   * addresses for a NAT gateway's hourly price.
   * @default 'default'
   */
  readonly egress: EgressMode;
  /**
   * Port probes per caller per minute (per /64 on IPv6).
   * @default 30
   */
  readonly ratePerMinute: number;
  /**
   * Port probes per caller per day (per /64 on IPv6).
   * @default 500
   */
  readonly ratePerDay: number;
  /**
   * Distinct ports one request may check.
   * @default 10
   */
  readonly maxPorts: number;
  /**
   * Per-port deadline in milliseconds; the Lambda timeout is derived from it.
   * @default 3000
   */
  readonly probeTimeoutMs: number;
  /**
   * Origins allowed to call the API from a browser, or `['*']` for any page.
   * @default ['*']
   */
  readonly corsOrigins: readonly string[];
  /**
   * Lambda memory in MB (see the README for how the default was chosen).
   * @default 256
   */
  readonly memoryMb: number;
  /**
   * Retention of the function's log group and the API's access-log group, in days.
   * @default 30
   */
  readonly logRetentionDays: number;
  /**
   * API stage steady-state limit, requests per second across all callers.
   * @default - derived from the function's concurrency and longest check (`stageThrottle` in public-api.ts)
   */
  readonly throttleRate?: number;
  /**
   * API stage burst limit, requests.
   * @default - the function's concurrency (`stageThrottle` in public-api.ts)
   */
  readonly throttleBurst?: number;
  /**
   * Address subscribed to the alarms' SNS topic.
   * @default - no topic and no subscription; alarms are visible in the CloudWatch console only
   */
  readonly alarmEmail?: string;
  /**
   * Reserved concurrency of the function, a hard cap on simultaneous checks.
   * @default - none: new accounts have a concurrency quota of 10, and reserving any of it can
   *   make the deploy fail (Lambda keeps 10 unreserved); set it once the quota is raised.
   */
  readonly reservedConcurrency?: number;
  /**
   * The availability zones of `vpc` mode's subnets (`-c azs=eu-central-1a,eu-central-1b`), at
   * least two (Lambda wants subnets in more than one), all in `region`. Lambda refuses subnets in
   * some zones of some accounts (CREATE_FAILED on the function, naming an unsupported zone);
   * naming zones it accepts is the way out.
   * @default - the region's first two zones
   */
  readonly azs?: readonly string[];
  /**
   * A directory holding the IP-to-network dataset's four CSV files (`-c holdersDir=./holders`),
   * newer than the npm packages' copy; compiled beside the bundle at synth (README, "Refreshing it").
   * @default - the installed `@ip-location-db` packages
   */
  readonly holdersDir?: string;
}

/** The defaults, in one place for the stack, the tests and the README. */
export const SETTING_DEFAULTS = Object.freeze({
  region: 'us-east-1',
  egress: 'default',
  ratePerMinute: CONFIG_DEFAULTS.ratePerMinute,
  ratePerDay: CONFIG_DEFAULTS.ratePerDay,
  maxPorts: CONFIG_DEFAULTS.maxPorts,
  probeTimeoutMs: CONFIG_DEFAULTS.probeTimeoutMs,
  corsOrigins: Object.freeze([CONFIG_DEFAULTS.corsAllowOrigins]),
  memoryMb: 256,
  logRetentionDays: 30,
}) satisfies DialbackSettings;

/** Thrown for a context value the stack cannot be built with; the message names key and value. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** Context keys the stack reads, and the function environment variable each one becomes. */
const FUNCTION_SETTINGS = {
  ratePerMinute: 'RATE_LIMIT_PER_MINUTE',
  ratePerDay: 'RATE_LIMIT_PER_DAY',
  maxPorts: 'MAX_PORTS',
  probeTimeoutMs: 'PROBE_TIMEOUT_MS',
  corsOrigins: 'CORS_ALLOW_ORIGINS',
} as const;

const STACK_SETTINGS = [
  'region',
  'regions',
  'egress',
  'memoryMb',
  'logRetentionDays',
  'throttleRate',
  'throttleBurst',
  'alarmEmail',
  'reservedConcurrency',
  'azs',
  'holdersDir',
] as const;

/** Every context key `readSettings` understands. */
export const SETTING_KEYS: readonly string[] = [...Object.keys(FUNCTION_SETTINGS), ...STACK_SETTINGS];

/** The retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

type Lookup = (key: string) => unknown;

/** Context arrives as a string from `-c`, or as any JSON value from `cdk.json`. */
function raw(lookup: Lookup, key: string): string | undefined {
  const value = lookup(key);
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'object') throw new SettingsError(`context ${key} must be a plain value, got an object`);
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

function wholeNumber(lookup: Lookup, key: string, fallback: number, min: number, max: number): number {
  const text = raw(lookup, key);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new SettingsError(`context ${key}="${text}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function optionalWholeNumber(lookup: Lookup, key: string, min: number, max: number): number | undefined {
  return raw(lookup, key) === undefined ? undefined : wholeNumber(lookup, key, min, min, max);
}

/** Partition-agnostic shape of a region name: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5. */
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/**
 * Most regions one deployment may span: every region is a whole stack to pay for and a column
 * on the page, and the list travels in one Lambda environment variable (4 KB for all of them).
 */
export const MAX_REGIONS = 10;

function region(lookup: Lookup): string {
  const text = raw(lookup, 'region') ?? SETTING_DEFAULTS.region;
  if (!REGION_NAME.test(text)) {
    throw new SettingsError(`context region="${text}" is not an AWS region name like eu-central-1`);
  }
  return text;
}

/** The partition a region belongs to; a cross-region reference cannot cross partitions. */
function partitionOf(name: string): string {
  if (name.startsWith('cn-')) return 'aws-cn';
  if (name.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * `regions`: a comma list (or a `cdk.json` array) of distinct region names, primary first.
 * One name is the one-region deployment, the same as `region`; giving both is refused, since
 * either could be meant.
 */
function regions(lookup: Lookup): readonly string[] | undefined {
  const text = raw(lookup, 'regions');
  if (text === undefined) return undefined;
  if (raw(lookup, 'region') !== undefined) {
    throw new SettingsError(`context region and regions="${text}" are both given; give regions alone, primary first`);
  }
  const list = text.split(',').map((name) => name.trim());
  for (const name of list) {
    if (!REGION_NAME.test(name)) {
      throw new SettingsError(
        `context regions="${text}" has "${name}", which is not an AWS region name like eu-central-1`,
      );
    }
  }
  const repeated = list.find((name, i) => list.indexOf(name) !== i);
  if (repeated !== undefined) throw new SettingsError(`context regions="${text}" names ${repeated} twice`);
  if (list.length > MAX_REGIONS) {
    throw new SettingsError(
      `context regions="${text}" names ${list.length} regions; at most ${MAX_REGIONS} are supported`,
    );
  }
  const partitions = new Set(list.map(partitionOf));
  if (partitions.size > 1) {
    throw new SettingsError(
      `context regions="${text}" mixes AWS partitions (${[...partitions].join(', ')}); one deployment stays in one`,
    );
  }
  return list;
}

/** A zone name: the region's name and a letter (eu-central-1a, us-gov-west-1b). */
const ZONE_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$/;

/** `azs`: distinct zones of the one region, for `vpc` mode only (other modes have no subnets). */
function zones(
  lookup: Lookup,
  inRegion: string,
  mode: EgressMode,
  multiRegion: boolean,
): readonly string[] | undefined {
  const text = raw(lookup, 'azs');
  if (text === undefined) return undefined;
  if (mode !== 'vpc') throw new SettingsError(`context azs="${text}" applies to egress=vpc only`);
  if (multiRegion) throw new SettingsError(`context azs="${text}" names one region's zones; it cannot go with regions`);
  const list = text.split(',').map((name) => name.trim());
  const bad = list.find((name) => !ZONE_NAME.test(name) || name.slice(0, -1) !== inRegion);
  if (bad !== undefined) {
    throw new SettingsError(`context azs="${text}" has "${bad}", which is not an availability zone of ${inRegion}`);
  }
  if (new Set(list).size !== list.length || list.length < 2) {
    throw new SettingsError(`context azs="${text}" must name at least two different zones of ${inRegion}`);
  }
  return list;
}

function egress(lookup: Lookup): EgressMode {
  const text = raw(lookup, 'egress') ?? SETTING_DEFAULTS.egress;
  const mode = EGRESS_MODES.find((m) => m === text);
  if (mode === undefined) {
    throw new SettingsError(`context egress="${text}" is not an egress mode (${EGRESS_MODES.join(' or ')})`);
  }
  return mode;
}

function logRetention(lookup: Lookup): number {
  const days = wholeNumber(lookup, 'logRetentionDays', SETTING_DEFAULTS.logRetentionDays, 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(days)) {
    throw new SettingsError(
      `context logRetentionDays="${days}" is not a retention CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')})`,
    );
  }
  return days;
}

function holdersDir(lookup: Lookup): string | undefined {
  const text = raw(lookup, 'holdersDir');
  if (text === undefined) return undefined;
  try {
    holdersFromDirectory(text);
  } catch (error) {
    if (!(error instanceof HoldersDataError)) throw error;
    throw new SettingsError(`context holdersDir="${text}": ${error.message}`, { cause: error });
  }
  return text;
}

function email(lookup: Lookup): string | undefined {
  const text = raw(lookup, 'alarmEmail');
  if (text === undefined) return undefined;
  if (!/^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(text)) {
    throw new SettingsError(`context alarmEmail="${text}" is not an e-mail address`);
  }
  return text;
}

/**
 * The function's settings, validated by the function's own config loader; its messages name
 * environment variables, so they are translated back to the context key the user typed.
 */
function functionSettings(lookup: Lookup): Pick<DialbackSettings, keyof typeof FUNCTION_SETTINGS> {
  const env: Record<string, string> = {};
  for (const [key, variable] of Object.entries(FUNCTION_SETTINGS)) {
    const text = raw(lookup, key);
    if (text !== undefined) env[variable] = text;
  }
  try {
    const config = loadConfig(env);
    return {
      ratePerMinute: config.ratePerMinute,
      ratePerDay: config.ratePerDay,
      maxPorts: config.maxPorts,
      probeTimeoutMs: config.probeTimeoutMs,
      corsOrigins: config.corsAllowOrigins,
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    let message = error.message;
    for (const [key, variable] of Object.entries(FUNCTION_SETTINGS)) {
      message = message.replaceAll(variable, `context ${key}`);
    }
    throw new SettingsError(message, { cause: error });
  }
}

/**
 * Reads and validates every setting. `lookup` is `(key) => app.node.tryGetContext(key)`;
 * unknown keys are not an error (CDK keeps its own flags in context), but a misspelt one of
 * ours would silently fall back to a default, so near-misses in case are refused.
 */
export function readSettings(lookup: Lookup, contextKeys: readonly string[] = []): DialbackSettings {
  for (const key of contextKeys) {
    const ours = SETTING_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
    if (ours !== undefined && ours !== key) {
      throw new SettingsError(`context ${key}="${String(lookup(key))}" is not a setting; did you mean ${ours}?`);
    }
  }
  const alarmEmail = email(lookup);
  const holders = holdersDir(lookup);
  const reservedConcurrency = optionalWholeNumber(lookup, 'reservedConcurrency', 1, 10_000);
  const throttleRate = optionalWholeNumber(lookup, 'throttleRate', 1, 10_000);
  const throttleBurst = optionalWholeNumber(lookup, 'throttleBurst', 1, 5_000);
  const all = regions(lookup);
  const home = all?.[0] ?? region(lookup);
  const mode = egress(lookup);
  const azs = zones(lookup, home, mode, all !== undefined && all.length > 1);
  return Object.freeze({
    region: home,
    // One region named in `regions` is the one-region deployment, exactly as with `region`.
    ...(all === undefined || all.length < 2 ? {} : { regions: Object.freeze(all) }),
    egress: mode,
    ...(azs === undefined ? {} : { azs: Object.freeze(azs) }),
    ...functionSettings(lookup),
    memoryMb: wholeNumber(lookup, 'memoryMb', SETTING_DEFAULTS.memoryMb, 128, 10_240),
    logRetentionDays: logRetention(lookup),
    ...(throttleRate === undefined ? {} : { throttleRate }),
    ...(throttleBurst === undefined ? {} : { throttleBurst }),
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(holders === undefined ? {} : { holdersDir: holders }),
    ...(reservedConcurrency === undefined ? {} : { reservedConcurrency }),
  });
}
