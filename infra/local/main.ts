/**
 * `npm start`: runs Dialback on this machine. Flags: --host (default 127.0.0.1), --port
 * (default 8787), --allow-non-public. Other settings come from the environment (DESIGN §5).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../../functions/core/config.ts';
import { type LocalApp, startLocalApp, startupHint } from './app.ts';

const USAGE = `Usage: npm start -- [--host 127.0.0.1] [--port 8787] [--allow-non-public]

Serves the Dialback API locally with an embedded rate-limit table.
Settings (RATE_LIMIT_PER_MINUTE, MAX_PORTS, PROBE_TIMEOUT_MS, ...) come from the environment.`;

function fail(message: string): never {
  process.stderr.write(`dialback: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { host?: string; port?: string; 'allow-non-public'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8787' },
        'allow-non-public': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = values.port ?? '8787';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) fail(`--port must be 0 to 65535, got "${port}"`);

  // Handlers go in before anything is printed: a supervisor that signals as soon as it reads
  // the URL must get a clean shutdown, not Node's default kill.
  let app: LocalApp | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: finishing in-flight checks, then stopping\n`);
    (app?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  try {
    app = await startLocalApp({
      env: process.env,
      host: values.host ?? '127.0.0.1',
      port: Number(port),
      allowNonPublic: values['allow-non-public'] ?? false,
    });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`port ${port} is in use; pick another with --port`);
    if (code === 'EADDRNOTAVAIL') fail(`this machine has no address ${values.host}`);
    throw error;
  }
  if (stopping) {
    await app.close();
    return;
  }
  process.stderr.write(
    `Dialback listening on ${app.url} (targets: ${app.policy}; table: ${app.tableEndpoint ?? 'AWS'})\n${startupHint(app)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`dialback: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
