/**
 * Lambda entry point. Deployed mode is fixed here and nowhere else: only globally routable
 * callers are dialed, port 25 is untestable (AWS blocks it outbound), and the HMAC key comes
 * from Secrets Manager. No environment variable can change any of that.
 */
import { ConfigError, loadConfig } from '../core/config.ts';
import { bundledHolders } from '../core/network-holder.ts';
import { secretKeyLoader } from '../core/secret-key.ts';
import { bundledWebAssets } from '../web/assets.ts';
import { createDeps } from './deps.ts';
import { createHandler } from './handler.ts';

const config = loadConfig(process.env);
const secretArn = config.rateLimitKeySecretArn;
// Files beside the bundle, read on first use (functions/web/assets.ts); absent, the page works
// without JavaScript and /widget.js answers 404.
const webAssets = bundledWebAssets();
if (secretArn === undefined) {
  throw new ConfigError('RATE_LIMIT_KEY_SECRET_ARN must name the secret holding the rate-limit key');
}

/** The deployed handler, built once per container. */
export const handler = createHandler(
  createDeps(config, {
    policy: 'public-only',
    blockedPorts: [25],
    key: secretKeyLoader(secretArn, config.region),
    // The key read is a network round trip on a cold start; the table's first call rides beside it.
    warmUpTable: true,
    webAssets,
    // The IP-to-network dataset beside the bundle, read by /ip and the page on first use only.
    holders: bundledHolders(),
  }),
);
