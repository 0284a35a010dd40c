/**
 * Builds the Dialback stack the way `cdk synth` does, into a directory of the caller's choice,
 * and finds what it produced: the template and the function's bundled code. Infra tests and
 * the memory bench use it so they look at the real cloud assembly, not at the source.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildDeployment } from '../../infra/aws/regions.ts';
import { readSettings } from '../../infra/aws/settings.ts';
import type { DialbackStack } from '../../infra/aws/stack.ts';

/** What one synthesis produced. */
export interface Synthesized {
  readonly app: App;
  readonly stack: DialbackStack;
  readonly template: Template;
  /** Directory holding the function's bundle (`index.mjs` + map), as zipped for upload. */
  readonly bundleDir: string;
}

/**
 * The context `cdk synth` gets from cdk.json (the feature flags above all), so tests look at the
 * template a deploy would produce, not at what a flagless app would.
 */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../cdk.json', import.meta.url)), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/**
 * The environment `cdk synth` gives the app: cdk.json's context plus the caller's, merged as the
 * CLI does (`-c` wins), and the output directory.
 */
export function cdkAppEnv(context: Readonly<Record<string, unknown>>, outdir: string): NodeJS.ProcessEnv {
  return { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON_CONTEXT, ...context }) };
}

/** Context for a stack; `bundle: false` skips esbuild (template-only tests). */
export interface SynthOptions {
  readonly outdir: string;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly bundle?: boolean;
}

/** Builds every stack like app.ts does, primary first, without cdk-nag (tests run the pack themselves). */
export function buildStacks(options: SynthOptions): { app: App; stacks: DialbackStack[] } {
  const context = options.context ?? {};
  const app = new App({
    outdir: options.outdir,
    // An empty list tells asset bundling to skip every stack.
    context: {
      ...CDK_JSON_CONTEXT,
      ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
    // CDK checks every template against CloudFormation's rules as it synthesizes: a WebAssembly
    // engine, about 2 s of CPU per process and 0.4 s per synthesis, which changes nothing in the
    // template. These tests build dozens of stacks to read them; the app keeps the check, and
    // stack.test.ts and regions.test.ts run the app on every configuration.
    builtinCloudFormationValidation: false,
  });
  const settings = readSettings((key) => context[key]);
  return { app, stacks: buildDeployment(app, settings) };
}

/** Builds the one stack of a one-region deployment. */
export function buildStack(options: SynthOptions): { app: App; stack: DialbackStack } {
  const { app, stacks } = buildStacks(options);
  const [stack] = stacks;
  if (stack === undefined || stacks.length !== 1) throw new Error(`expected one stack, built ${stacks.length}`);
  return { app, stack };
}

interface AssetManifest {
  readonly files: Record<string, { readonly source: { readonly path: string; readonly packaging?: string } }>;
}

/** Synthesizes, bundling the function, and locates the bundle in the cloud assembly. */
export async function synthesize(options: SynthOptions): Promise<Synthesized> {
  const { app, stack } = buildStack(options);
  const assembly = app.synth();
  const manifestPath = join(assembly.directory, `${Stack.of(stack).artifactId}.assets.json`);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as AssetManifest;
  const zipped = Object.values(manifest.files).filter((f) => f.source.packaging === 'zip');
  if (zipped.length !== 1 || zipped[0] === undefined) {
    throw new Error(`expected exactly one zipped asset (the function), found ${zipped.length}`);
  }
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    bundleDir: join(assembly.directory, zipped[0].source.path),
  };
}
