/**
 * `dialback PORT... --from all` (or `--from eu-central-1,us-east-1`): the same check from
 * several regions of one deployment at once, through `/regions` and each region's own API,
 * printed one column per region with what it means when they disagree.
 */
import type { DialbackClient } from '../client/dialback-client.ts';
import { type RegionChecks, regionDiagnoses, regionsExitCode, renderRegionsText } from '../contract/regions.ts';

/** `--from`'s value: `all`, or region names separated by commas. */
export function parseFrom(value: string): readonly string[] | 'all' {
  if (value.trim() === 'all') return 'all';
  const list = value.split(',').map((name) => name.trim());
  if (list.some((name) => name === '')) {
    throw new RangeError(`--from takes "all" or region names separated by commas, got "${value}".`);
  }
  return list;
}

/** The checks as JSON: every region's check or error, and the diagnoses. */
export function regionsJson(checks: RegionChecks): Record<string, unknown> {
  return {
    ports: checks.ports,
    regions: checks.outcomes.map((o) =>
      o.ok
        ? { name: o.region.name, api: o.region.api, check: o.check }
        : { name: o.region.name, api: o.region.api, error: o.error },
    ),
    diagnoses: regionDiagnoses(checks),
  };
}

/**
 * Runs the fan-out through `client` (its fetch, deadlines included, reaches every region);
 * resolves with what to print, the exit status and the checks themselves. `describeFailure` words a region's failure.
 */
export async function checkFrom(
  client: DialbackClient,
  from: string,
  ports: readonly number[],
  json: boolean,
  describeFailure?: (error: unknown, api: string) => string,
): Promise<{ output: string; code: number; checks: RegionChecks }> {
  const chosen = parseFrom(from);
  const checks = await client.checkRegions(ports, {
    ...(chosen === 'all' ? {} : { from: chosen }),
    ...(describeFailure === undefined ? {} : { describeFailure }),
  });
  return {
    output: json ? `${JSON.stringify(regionsJson(checks), null, 2)}\n` : renderRegionsText(checks),
    code: regionsExitCode(checks),
    checks,
  };
}
