import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import type { Handler } from '../../functions/api/handler.ts';
import { buildWebAssets, writeBundledAssets } from '../../functions/build/served-code.ts';
import { SERVED_API_PLACEHOLDER } from '../../functions/web/assets.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { expectDocumented, fromHandler, specFor } from '../support/openapi.ts';

/**
 * The Lambda bundle has no compiler in it: the served code must be compiled at bundle time.
 * This bundles the real Lambda entry as the CDK stack does (esbuild, ESM), with and without
 * the files `writeBundledAssets()` puts beside it, and runs the bundled handler. One difference: the stack bundles the AWS
 * SDK (`bundleAwsSDK: true`); here it stays external to keep the build quick, which changes
 * nothing this test checks (test/infra/bundle.test.ts runs the stack's own bundle).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Inside node_modules so the bundle resolves the AWS SDK it leaves external.
const OUT = `${ROOT}node_modules/.cache/dialback-lambda-bundle-${process.pid}`;
const doc = specFor({});

async function bundle(name: string): Promise<Handler> {
  const outfile = `${OUT}/${name}/index.mjs`;
  await build({
    entryPoints: [`${ROOT}functions/api/index.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  // The entry reads its settings once at import; these are what the stack sets.
  process.env.RATE_LIMIT_KEY_SECRET_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:dialback-key';
  process.env.AWS_REGION = 'eu-central-1';
  process.env.DYNAMODB_ENDPOINT = 'http://127.0.0.1:9';
  const module = (await import(pathToFileURL(outfile).href)) as { handler: Handler };
  return module.handler;
}

async function get(handler: Handler, url: string): Promise<ReturnType<typeof fromHandler>> {
  const response = fromHandler(await handler(apiEvent({ url }), lambdaContext()));
  expectDocumented(doc, 'GET', url, response);
  return response;
}

afterAll(async () => {
  await rm(OUT, { recursive: true, force: true });
});

describe('Lambda bundle', () => {
  it('serves the widget, the page script and the CLI from the files beside the bundle', async () => {
    await mkdir(OUT, { recursive: true });
    writeBundledAssets(`${OUT}/with-assets`);
    const handler = await bundle('with-assets');
    const assets = await buildWebAssets();

    const widget = await get(handler, '/widget.js');
    expect(widget.status).toBe(200);
    expect(widget.body).toBe(assets.widget);

    const page = await get(handler, '/');
    const inline = /<script type="module">([\s\S]*?)<\/script>/.exec(page.body)?.[1] ?? '';
    expect(inline).toBe(assets.pageScript);
    const hash = createHash('sha256').update(inline).digest('base64');
    expect(page.headers['content-security-policy']).toContain(`script-src 'sha256-${hash}'`);

    // The CLI is a gzip file beside the bundle, served whole, pointed at the API's own https URL.
    const cli = await get(handler, '/dialback.mjs');
    expect(cli.status).toBe(200);
    expect(cli.body).toBe((await assets.cli())?.replaceAll(SERVED_API_PLACEHOLDER, 'https://api.example.com'));
  });

  it('still serves a working page without them, and 404 for the widget', async () => {
    const handler = await bundle('without-assets');
    expect((await get(handler, '/widget.js')).status).toBe(404);
    expect((await get(handler, '/dialback.mjs')).status).toBe(404);
    const page = await get(handler, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form id="check-form" method="get" action="/" data-max-ports="10">');
    expect(page.body).not.toContain('<script');
  });
});
