/**
 * The service's settings, parsed and validated once from the environment (DESIGN §5).
 * A bad value throws at start-up with the variable's name, so a misconfigured deployment
 * fails its cold start instead of answering wrongly.
 */
import { isIP } from 'node:net';
import type { Endpoints } from '../contract/wire.ts';

/** Every setting the service reads, already validated. */
export interface Config {
  readonly tableName: string;
  /** Endpoint of a DynamoDB-compatible server; `undefined` means the AWS regional endpoint. */
  readonly dynamodbEndpoint: string | undefined;
  /** The AWS region the SDK talks to (from `AWS_REGION`, `us-east-1` when unset locally). */
  readonly region: string;
  readonly ratePerMinute: number;
  readonly ratePerDay: number;
  readonly maxPorts: number;
  readonly probeTimeoutMs: number;
  /** Connect attempts per port, started a little apart, so one lost packet is not "filtered". */
  readonly probeAttempts: number;
  /** `["*"]` or an explicit list of origins. */
  readonly corsAllowOrigins: readonly string[];
  readonly checkedFrom: string;
  /** Whether this deployment can dial IPv6 at all (a Lambda outside a VPC cannot). */
  readonly ipv6Egress: boolean;
  /**
   * The fixed addresses (or CIDR ranges) probes leave from, when the deployment has them
   * (an Elastic IP, the VPC's IPv6 range); empty when the source is not fixed.
   */
  readonly egressAddresses: readonly string[];
  /** Where this deployment can be reached per address family; `/ip` reports it. */
  readonly endpoints: Endpoints;
  /**
   * Every region of a multi-region deployment (`REGIONS`), this one first; `GET /regions`
   * lists them and the page checks from each. Empty for a deployment of one region.
   */
  readonly regions: readonly RegionApi[];
  /** HMAC key for caller hashes, when given directly (local use). */
  readonly rateLimitKey: string | undefined;
  /** Secrets Manager ARN holding the HMAC key (deployed use). */
  readonly rateLimitKeySecretArn: string | undefined;
  /**
   * The URL of a Dialback instance on the Internet (`INTERNET_CHECKER_URL`), offered to callers
   * of a local server whose check could not be a view from the Internet; `undefined` points
   * them to deploying instead.
   */
  readonly internetCheckerUrl: string | undefined;
}

/** One region of a deployment and the base URL of its IPv4-only API. */
export interface RegionApi {
  /** The region's name, as its checks report it in `checkedFrom`. */
  readonly name: string;
  /** Base URL, without a trailing slash. */
  readonly api: string;
}

/** The variable that lists a deployment's regions: `name=url,name=url`, this region first. */
export const REGIONS_VARIABLE = 'REGIONS';

/** A region's name: an AWS region, or a label such as `local` or `lab-a`. */
const REGION_LABEL = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Writes a region list the way `REGIONS` reads it (the stack and the lab write it so). */
export function formatRegions(regions: readonly RegionApi[]): string {
  return regions.map((r) => `${r.name}=${r.api}`).join(',');
}

/** Thrown when an environment variable holds a value the service cannot run with. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** Defaults of DESIGN §5, exported so the CDK stack and docs quote the same numbers. */
export const CONFIG_DEFAULTS = Object.freeze({
  tableName: 'dialback-rate-limits',
  ratePerMinute: 30,
  ratePerDay: 500,
  maxPorts: 10,
  probeTimeoutMs: 3000,
  // Chosen in the lab: the fewest attempts that read an open port open ≥99% at 50% loss (probe.ts).
  probeAttempts: 5,
  corsAllowOrigins: '*',
});

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function origins(env: Env): readonly string[] {
  const raw = text(env, 'CORS_ALLOW_ORIGINS') ?? CONFIG_DEFAULTS.corsAllowOrigins;
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (list.length === 0) throw new ConfigError('CORS_ALLOW_ORIGINS must name at least one origin or "*"');
  if (list.includes('*')) {
    if (list.length > 1) throw new ConfigError('CORS_ALLOW_ORIGINS cannot mix "*" with named origins');
    return Object.freeze(['*']);
  }
  for (const origin of list) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError(`CORS_ALLOW_ORIGINS has "${origin}", which is not an origin like https://example.com`);
    }
    if (parsed.origin !== origin) {
      throw new ConfigError(`CORS_ALLOW_ORIGINS has "${origin}"; write it as its origin, "${parsed.origin}"`);
    }
  }
  return Object.freeze(list);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function egressAddresses(env: Env): readonly string[] {
  const raw = text(env, 'EGRESS_ADDRESSES');
  if (raw === undefined) return Object.freeze([]);
  const list = raw
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  for (const item of list) {
    const [address = '', prefix, ...extra] = item.split('/');
    const prefixOk =
      extra.length === 0 &&
      (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address) === 4 ? 32 : 128)));
    if (isIP(address) === 0 || !prefixOk) {
      throw new ConfigError(`EGRESS_ADDRESSES has "${item}", which is not an IP address or CIDR range`);
    }
  }
  return Object.freeze(list);
}

/** An absolute http(s) base URL, returned without a trailing slash so paths append with `/`. */
function baseUrl(env: Env, name: string): string | null {
  const raw = text(env, name);
  return raw === undefined ? null : parseBaseUrl(raw, name);
}

/** `raw` as a base URL; `label` names where it came from in the error. */
function parseBaseUrl(raw: string, label: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${label} must be an http(s) URL, got "${raw}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
    throw new ConfigError(`${label} must be an http(s) URL without credentials, got "${raw}"`);
  }
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) {
    throw new ConfigError(`${label} must be a base URL without a query or fragment, got "${raw}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function endpoints(env: Env, ipv6Egress: boolean): Endpoints {
  const dualStack = baseUrl(env, 'API_URL_DUAL_STACK');
  // The failure this prevents: IPv6 callers let in by an endpoint whose function cannot dial them.
  if (dualStack !== null && !ipv6Egress) {
    throw new ConfigError('API_URL_DUAL_STACK is set but IPV6_EGRESS is false: IPv6 callers could not be checked');
  }
  return Object.freeze({ ipv4: baseUrl(env, 'API_URL_IPV4'), dualStack });
}

/**
 * `REGIONS`: `name=url` pairs, comma-separated, names distinct. The first must be this
 * deployment (`checkedFrom`), so a list copied to the wrong region fails its cold start.
 */
function regions(env: Env, checkedFrom: string): readonly RegionApi[] {
  const raw = text(env, REGIONS_VARIABLE);
  if (raw === undefined) return Object.freeze([]);
  const list = raw.split(',').map((item) => {
    const at = item.indexOf('=');
    const name = item.slice(0, Math.max(at, 0)).trim();
    if (at < 0 || !REGION_LABEL.test(name)) {
      throw new ConfigError(
        `REGIONS has "${item.trim()}"; write each region as name=https://its-api, like eu-central-1=https://…`,
      );
    }
    return Object.freeze({ name, api: parseBaseUrl(item.slice(at + 1).trim(), `REGIONS (${name})`) });
  });
  const names = list.map((r) => r.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new ConfigError(`REGIONS names ${repeated} twice`);
  if (names[0] !== checkedFrom) {
    throw new ConfigError(`REGIONS must list this region (${checkedFrom}) first, got ${names[0]}`);
  }
  return Object.freeze(list);
}

function endpoint(env: Env): string | undefined {
  const raw = text(env, 'DYNAMODB_ENDPOINT');
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError(`DYNAMODB_ENDPOINT must be an http(s) URL, got "${raw}"`);
  }
  return raw;
}

/** Parses and validates the environment once; the result is frozen. */
export function loadConfig(env: Env): Config {
  const ratePerMinute = integer(env, 'RATE_LIMIT_PER_MINUTE', CONFIG_DEFAULTS.ratePerMinute, 1, 100_000);
  const ratePerDay = integer(env, 'RATE_LIMIT_PER_DAY', CONFIG_DEFAULTS.ratePerDay, 1, 10_000_000);
  if (ratePerDay < ratePerMinute) {
    throw new ConfigError(
      `RATE_LIMIT_PER_DAY (${ratePerDay}) must not be below RATE_LIMIT_PER_MINUTE (${ratePerMinute})`,
    );
  }
  const maxPorts = integer(env, 'MAX_PORTS', CONFIG_DEFAULTS.maxPorts, 1, 100);
  if (maxPorts > ratePerMinute) {
    throw new ConfigError(`MAX_PORTS (${maxPorts}) must not exceed RATE_LIMIT_PER_MINUTE (${ratePerMinute})`);
  }
  const tableName = text(env, 'TABLE_NAME') ?? CONFIG_DEFAULTS.tableName;
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) {
    throw new ConfigError(`TABLE_NAME "${tableName}" is not a valid DynamoDB table name`);
  }
  const region = text(env, 'AWS_REGION') ?? 'us-east-1';
  const rateLimitKey = text(env, 'RATE_LIMIT_KEY');
  const ipv6Egress = boolean(env, 'IPV6_EGRESS', true);
  if (rateLimitKey !== undefined && rateLimitKey.length < 16) {
    throw new ConfigError('RATE_LIMIT_KEY must be at least 16 characters long');
  }
  const checkedFrom = text(env, 'CHECKED_FROM') ?? text(env, 'AWS_REGION') ?? 'local';
  return Object.freeze({
    tableName,
    dynamodbEndpoint: endpoint(env),
    region,
    ratePerMinute,
    ratePerDay,
    maxPorts,
    probeTimeoutMs: integer(env, 'PROBE_TIMEOUT_MS', CONFIG_DEFAULTS.probeTimeoutMs, 100, 20_000),
    probeAttempts: integer(env, 'PROBE_ATTEMPTS', CONFIG_DEFAULTS.probeAttempts, 1, 8),
    corsAllowOrigins: origins(env),
    checkedFrom,
    ipv6Egress,
    egressAddresses: egressAddresses(env),
    endpoints: endpoints(env, ipv6Egress),
    regions: regions(env, checkedFrom),
    rateLimitKey,
    rateLimitKeySecretArn: text(env, 'RATE_LIMIT_KEY_SECRET_ARN'),
    internetCheckerUrl: baseUrl(env, 'INTERNET_CHECKER_URL') ?? undefined,
  });
}
