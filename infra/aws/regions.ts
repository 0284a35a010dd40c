/**
 * Which stacks a deployment is. One region: the one `Dialback` stack, exactly as
 * before. Several (`-c regions=eu-central-1,us-east-1,…`): one complete, independent stack per
 * region, each pinned to it, and the first, the primary, told the others' API URLs so that
 * `GET /regions` lists them all.
 *
 * How the primary learns URLs that exist only once the other stacks are deployed: CDK's
 * cross-region references (`crossRegionReferences: true`). Each other stack gets a custom
 * resource that writes its URL to an SSM parameter in the primary's region, and the primary a
 * custom resource that reads them at deploy time; `cdk deploy --all` deploys the others first.
 * Chosen over the alternatives because it needs no manual second step (unlike copying outputs
 * into context and deploying twice) and puts nothing on a check's path (unlike a function that
 * looks the other stacks up at run time): the URLs arrive as one environment variable.
 * The price: three small Lambda-backed custom resources per deployment (deploy time only) and
 * SSM parameters under `/cdk/exports/Dialback/`, which `cdk destroy --all` removes.
 */
import type { App } from 'aws-cdk-lib';
import type { DialbackSettings } from './settings.ts';
import { DialbackStack } from './stack.ts';

/** The stack of a one-region deployment, and the primary of several: `Dialback`, as it always was. */
export const STACK_NAME = 'Dialback';

const DESCRIPTION = 'Dialback: external TCP and UDP port checker (API, function, counters table, alarms)';

/**
 * The stack of each other region of a multi-region deployment: its ID and its CloudFormation
 * name (`cdk deploy Dialback-us-east-1` picks one). The primary keeps `Dialback`, so a
 * one-region deployment that grows into several updates in place in its region; distinct
 * names keep each stack's outputs apart in `cdk deploy --outputs-file`, which is keyed by name.
 */
export function regionStackId(region: string): string {
  return `${STACK_NAME}-${region}`;
}

/** Builds every stack of the deployment into `app`, the primary first. */
export function buildDeployment(app: App, settings: DialbackSettings): DialbackStack[] {
  if (settings.regions === undefined) {
    return [
      new DialbackStack(app, STACK_NAME, { env: { region: settings.region }, description: DESCRIPTION, settings }),
    ];
  }
  const [primary = settings.region, ...others] = settings.regions;
  const stackIn = (id: string, region: string, otherRegions?: DialbackStack[]): DialbackStack =>
    new DialbackStack(app, id, {
      env: { region },
      description: `${DESCRIPTION}, ${region} of ${settings.regions?.join(', ')}`,
      // Only the region differs: each stack is complete and counts its own budget.
      settings: { ...settings, region },
      crossRegionReferences: true,
      ...(otherRegions === undefined
        ? {}
        : { otherRegions: otherRegions.map((stack) => ({ name: stack.region, api: stack.apiUrl })) }),
    });
  const secondaries = others.map((region) => stackIn(regionStackId(region), region));
  return [stackIn(STACK_NAME, primary, secondaries), ...secondaries];
}
