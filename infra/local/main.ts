/**
 * `npm start`: runs Dialback on this machine. Flags: --host (default 127.0.0.1), --ipv6-host
 * (default ::1 when --host is IPv4 loopback), --port (default 8787), --allow-non-public,
 * --trust-proxy and --proxy-header (behind a reverse proxy).
 * Other settings come from the environment (DESIGN §5).
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../functions/core/config.ts';
import { type LocalApp, startLocalApp, startupHint } from './app.ts';
import { type ProxyTrust, parseProxyTrust } from './forwarded.ts';

const USAGE = `Usage: npm start -- [--host 127.0.0.1] [--ipv6-host ::1|none] [--port 8787] [--allow-non-public]
                    [--trust-proxy ADDR[,ADDR]] [--proxy-header x-forwarded-for|forwarded] [--data-dir DIR]

Serves the Dialback API locally with an embedded rate-limit table.

  --host ADDR        the address to serve on; an IPv4 address makes this the IPv4-only endpoint
  --ipv6-host ADDR   also serve on this IPv6 address, same port, as the dual-stack endpoint, so
                     the page checks IPv4 and IPv6 side by side; default ::1 (announced as
                     http://localhost:PORT) when --host is IPv4 loopback and IPV6_EGRESS is not
                     false, else none; "none" turns it off
  --port N           the port (default 8787; 0 picks a free one)
  --allow-non-public dial callers with private addresses too (labs)
  --trust-proxy LIST behind a reverse proxy: connections from these addresses or ranges (e.g.
                     127.0.0.1) name their client in --proxy-header, and the caller is the
                     right-most address there that is not a listed proxy; only public callers
                     are then checked. Without it forwarding headers are ignored, and a loopback
                     connection that carries one is refused rather than checked
  --data-dir DIR     keep the rate-limit counters in DIR (created if missing), so a restart
                     hands out no fresh budget; in memory by default
  --proxy-header H   the header your proxy writes: x-forwarded-for (default) or forwarded
                     (RFC 7239); the other is ignored, since a client could send it

Settings (RATE_LIMIT_PER_MINUTE, MAX_PORTS, PROBE_TIMEOUT_MS, ...) come from the environment;
API_URL_IPV4 and API_URL_DUAL_STACK override the endpoint URLs /ip and the page announce.`;

/** The table's address for the start-up line: never its path, which is the embedded table's credential. */
function tableShown(endpoint: string | undefined): string {
  return endpoint === undefined ? 'AWS' : new URL(endpoint).origin;
}

function fail(message: string): never {
  process.stderr.write(`dialback: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/**
 * Which IPv6 address serves the dual-stack endpoint, if any, and a line saying why when the
 * default was set aside. A dual-stack endpoint lets IPv6 callers in, so with IPV6_EGRESS=false
 * (they could not be dialled) the default ::1 is dropped rather than left to fail the start
 * with a complaint about API_URL_DUAL_STACK, a variable the user never set.
 */
function chooseIpv6Host(
  host: string,
  asked: string | undefined,
  ipv6Egress: boolean,
): { ipv6Host: string | undefined; note?: string } {
  if (asked !== undefined && asked !== 'none' && isIP(asked) !== 6) {
    fail(`--ipv6-host must be an IPv6 address or "none", got "${asked}"`);
  }
  if (asked === 'none') return { ipv6Host: undefined };
  if (!ipv6Egress) {
    if (asked !== undefined) {
      fail(`--ipv6-host ${asked} would let IPv6 callers in, but IPV6_EGRESS is false: they could not be checked`);
    }
    return {
      ipv6Host: undefined,
      note: 'IPV6_EGRESS is false: serving IPv4 alone, with no dual-stack endpoint, since IPv6 callers could not be checked.\n',
    };
  }
  const loopbackV4 = isIP(host) === 4 && host.startsWith('127.');
  return { ipv6Host: asked ?? (loopbackV4 ? '::1' : undefined) };
}

/** The command line, checked: each bad value ends the process with exit 2 and the usage. */
interface StartOptions {
  readonly host: string;
  readonly port: string;
  readonly askedIpv6: string | undefined;
  readonly allowNonPublic: boolean;
  readonly trustProxy: ProxyTrust | undefined;
  readonly dataDir: string | undefined;
  readonly help: boolean;
}

function readOptions(): StartOptions {
  let values: {
    host?: string;
    'ipv6-host'?: string;
    port?: string;
    'allow-non-public'?: boolean;
    'trust-proxy'?: string;
    'proxy-header'?: string;
    'data-dir'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        'ipv6-host': { type: 'string' },
        port: { type: 'string', default: '8787' },
        'allow-non-public': { type: 'boolean', default: false },
        'trust-proxy': { type: 'string' },
        'proxy-header': { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  const port = values.port ?? '8787';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) fail(`--port must be 0 to 65535, got "${port}"`);
  let trustProxy: ProxyTrust | undefined;
  if (values['trust-proxy'] !== undefined) {
    try {
      trustProxy = parseProxyTrust(values['trust-proxy'], values['proxy-header']);
    } catch (error) {
      fail((error as Error).message);
    }
  } else if (values['proxy-header'] !== undefined) {
    fail('--proxy-header says which header the proxies of --trust-proxy write; give --trust-proxy too');
  }
  return {
    host: values.host ?? '127.0.0.1',
    port,
    askedIpv6: values['ipv6-host'],
    allowNonPublic: values['allow-non-public'] ?? false,
    trustProxy,
    dataDir: values['data-dir'],
    help: values.help ?? false,
  };
}

async function main(): Promise<void> {
  const { host, port, askedIpv6, allowNonPublic, trustProxy, dataDir, help } = readOptions();
  if (help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let ipv6Egress: boolean;
  try {
    ({ ipv6Egress } = loadConfig(process.env));
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
  const { ipv6Host, note } = chooseIpv6Host(host, askedIpv6, ipv6Egress);
  if (note !== undefined) process.stderr.write(note);

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

  const start = (ipv6: string | undefined): Promise<LocalApp> =>
    startLocalApp({
      env: process.env,
      host,
      port: Number(port),
      allowNonPublic,
      ...(trustProxy === undefined ? {} : { trustProxy }),
      ...(dataDir === undefined ? {} : { dataDir }),
      ...(ipv6 === undefined ? {} : { ipv6Host: ipv6 }),
    });
  try {
    try {
      app = await start(ipv6Host);
    } catch (error) {
      // A machine without IPv6 loopback still gets the IPv4 endpoint when ::1 was only the default.
      const code = (error as NodeJS.ErrnoException).code;
      if (askedIpv6 !== undefined || ipv6Host === undefined || (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT'))
        throw error;
      process.stderr.write(`No IPv6 loopback (${code}): serving IPv4 only.\n`);
      app = await start(undefined);
    }
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`port ${port} is in use; pick another with --port`);
    if (code === 'EADDRNOTAVAIL') fail(`this machine has no address ${host}${ipv6Host ? ` or ${ipv6Host}` : ''}`);
    throw error;
  }
  if (stopping) {
    await app.close();
    return;
  }
  const { ipv4, dualStack } = app.endpoints;
  const pair =
    dualStack === null
      ? ''
      : `Endpoints: IPv4-only ${ipv4 ?? app.url}, dual-stack ${dualStack}; open either in a browser to check both families.\n`;
  const proxies =
    trustProxy === undefined
      ? ''
      : `Behind a proxy: the caller is the client ${trustProxy.header} names when the connection comes from ${trustProxy.listed.join(', ')}.\n`;
  process.stderr.write(
    `Dialback listening on ${app.url} (targets: ${app.policy}; table: ${tableShown(app.tableEndpoint)})\n${pair}${proxies}` +
      `${startupHint(app)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`dialback: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
