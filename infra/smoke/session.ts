/**
 * What every smoke check shares: one request function that holds each answer to the
 * deployment's own OpenAPI document, one step runner that turns a check into a report line,
 * and the two ways a check can end short of a pass.
 */
import type { ObservedResponse } from './openapi-check.ts';

/** A failed expectation; its message is the report's detail. */
export class Expectation extends Error {}

/** What a check exists to prove cannot be seen from here; its message says why and what to do. */
export class Unproven extends Error {}

/** Throws an `Expectation` with `message` unless `condition` holds. */
export function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Expectation(message);
}

/** One request of a check. */
export interface Call {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Another endpoint of the same deployment; the `--api` one when absent. */
  readonly at?: string;
  /** Connect over this family only (a dual-stack endpoint's IPv6); either when absent. */
  readonly family?: 4 | 6;
}

/** The request function and step runner a run's checks share. */
export interface Session {
  /** Sends `call`; the answer must be one the deployment's document describes. */
  request(call: Call): Promise<ObservedResponse>;
  /** Runs one check and adds its report line: pass, fail or unproven. */
  step(name: string, run: () => Promise<string>): Promise<void>;
}

/** `GET /ip` at another endpoint of the deployment. */
export async function askIp(
  request: Session['request'],
  where: Pick<Call, 'at' | 'family'>,
): Promise<{ ip: string; family: number }> {
  const response = await request({ method: 'GET', path: '/ip', ...where });
  expect(response.status === 200, `answered ${response.status}`);
  return JSON.parse(response.body) as { ip: string; family: number };
}
