/**
 * The CDK app (`cdk.json` runs it with tsx, no build step): reads the settings from context,
 * builds the one stack in the chosen region (or one per region with `-c regions=…`, see
 * regions.ts) and runs cdk-nag's AwsSolutions pack over them, so `npm run synth` fails on any
 * finding that is not acknowledged with a reason.
 *
 * The environment names a region but no account: synth needs no credentials and makes no
 * lookups, and the deploy goes to whichever account the caller's credentials belong to.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildDeployment } from './regions.ts';
import { type DialbackSettings, readSettings, SettingsError } from './settings.ts';

const app = new App();
const context = app.node.getAllContext() as Record<string, unknown>;
buildDeployment(app, settingsOrExit());
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();

/** The settings, or a one-line message naming the bad one and exit 1: a stack trace adds nothing to "egress=bogus". */
function settingsOrExit(): DialbackSettings {
  try {
    return readSettings((key) => context[key], Object.keys(context));
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
