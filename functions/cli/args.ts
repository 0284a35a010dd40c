/**
 * The command line as the CLI reads it: the usage text, the options, the port arguments and
 * the deadlines they set.
 */
import { parseArgs } from 'node:util';
import { parsePortList } from '../contract/wire.ts';
import { UsageError } from './explain.ts';
import type { Deadlines } from './family-fetch.ts';

/**
 * Seconds to wait for a connection. Generous for any real network, short enough that a
 * black-holed API is reported while the user still waits.
 */
const CONNECT_SECONDS = 5;

/**
 * Seconds to wait for the whole answer by default: above any probe deadline (at most 20 s)
 * and API Gateway's own 30 s limit, so a real answer is never cut off.
 */
const DEFAULT_TIMEOUT_SECONDS = 35;

/** The deadlines when `--timeout` is not given. */
export const DEFAULT_DEADLINES: Deadlines = Object.freeze({
  connectMs: CONNECT_SECONDS * 1000,
  totalMs: DEFAULT_TIMEOUT_SECONDS * 1000,
});

/** The usage lines printed under a usage error. */
export const SHORT_USAGE = `Usage: dialback PORT... [--udp] [--api URL] [--json] [-4 | -6 | --both]
       dialback listen|doctor PORT [--udp] | dialback ip   (dialback --help for more)`;

/** The `--help` text, naming the API the command would ask. */
export function usage(api: string): string {
  return `Usage: dialback PORT... [--udp] [--api URL] [--json] [-4 | -6 | --both] [--timeout S]
       dialback PORT... --from all|REGION,... [--api URL] [--json] [-4 | -6] [--timeout S]
       dialback listen PORT [--udp] [--api URL] [--json] [-4 | -6 | --both]
       dialback doctor PORT [--udp] [--api URL] [--json] [-4 | -6] [--map [--keep]]
       dialback ip [--api URL] [--json]

Asks a Dialback API to dial back to your address and reports each TCP port as open,
closed or filtered. PORTs are 1-65535, separated by spaces or commas.

  listen PORT    listen on PORT on all interfaces, have the API check it with a one-time
                 token, and say whether the connection really reached this machine
  doctor PORT    find where the path to PORT breaks: the service, its bind address, the host
                 firewall, this machine's address, the router (UPnP IGD, NAT-PMP, PCP), the
                 NAT layers, then the check from outside (with proof)
  --map          (doctor) ask the router to forward PORT to this machine for the check (with
                 -6, to open a pinhole in its IPv6 firewall), and remove it after; --keep
                 leaves it (the doctor says for how long)
  --udp          check (or listen on) UDP ports instead of TCP: open|filtered means no
                 answer, which is normal for many UDP services; listen --udp settles it
  --api URL      the API to ask (now: ${api}); a bare host:port means http:// for
                 loopback and private addresses, https:// otherwise ($DIALBACK_API sets it too)
  -4, -6         connect to the API over IPv4 / IPv6 only (so that family is checked)
  --both         check over IPv4 and over IPv6 and show the two side by side
  --from all     check from every region the API lists at /regions (or from the regions
                 named, e.g. --from eu-central-1,us-east-1), one column per region (TCP)
  --json         print JSON instead of the table (errors too, as problem+json, on stdout)
  --timeout S    give up on an answer after S seconds (default ${DEFAULT_TIMEOUT_SECONDS}; connecting: ${CONNECT_SECONDS})
  --version      print the version
  -h, --help     this text

Exit status: 0 every port open (and, for listen and doctor, verified), 1 otherwise, 2 error
(with --from: 0 every port open from every region, 2 when any region gave no answer).`;
}

/** Each argument is a port list in the API's own grammar; the server enforces the count. */
export function parsePorts(args: readonly string[]): number[] {
  if (args.length === 0) return [];
  try {
    return parsePortList(args.join(','), Number.MAX_SAFE_INTEGER);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The options as `parseArgs` gives them. */
export interface Options {
  api?: string;
  json?: boolean;
  help?: boolean;
  version?: boolean;
  both?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  timeout?: string;
  udp?: boolean;
  from?: string;
  map?: boolean;
  keep?: boolean;
}

/** The long options, as `readArgs` takes them. */
const LONG_OPTIONS = [
  'api',
  'json',
  'help',
  'version',
  'both',
  'ipv4',
  'ipv6',
  'from',
  'timeout',
  'udp',
  'map',
  'keep',
] as const;

/**
 * The CLI's options that npm kept for itself: `npm run dialback 22 --json` gives `--json` to npm
 * (as `npm_config_json` in the environment), not to the CLI, and a value after such a flag
 * arrives as a port. Said as a usage error, never silently dropped.
 */
export function swallowedByNpm(env: Readonly<Record<string, string | undefined>>): string[] {
  if (env.npm_lifecycle_event !== 'dialback') return [];
  return LONG_OPTIONS.filter((name) => env[`npm_config_${name}`] !== undefined).map((name) => `--${name}`);
}

/** The options and positionals of `argv`; an unknown or malformed option is a usage error. */
export function readArgs(argv: readonly string[]): { values: Options; positionals: string[] } {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        api: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
        both: { type: 'boolean', default: false },
        ipv4: { type: 'boolean', short: '4', default: false },
        ipv6: { type: 'boolean', short: '6', default: false },
        from: { type: 'string' },
        timeout: { type: 'string' },
        udp: { type: 'boolean', default: false },
        map: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // Node's parser says "Unknown option '--x'. To specify a positional argument starting with a '-'…": keep the first sentence.
    throw new UsageError(((error as Error).message.split('. ')[0] ?? 'bad arguments').replace(/\.?$/, '.'));
  }
}

/** The connect and total deadlines `--timeout` sets (or the defaults). */
export function deadlinesOf(values: Options): Deadlines {
  if (values.timeout === undefined) return DEFAULT_DEADLINES;
  if (!/^\d{1,4}(\.\d+)?$/.test(values.timeout) || Number(values.timeout) < 1) {
    throw new UsageError(`--timeout is seconds, at least 1, like --timeout 10; got "${values.timeout}".`);
  }
  const totalMs = Number(values.timeout) * 1000;
  return { connectMs: Math.min(CONNECT_SECONDS * 1000, totalMs), totalMs };
}
