/**
 * This machine's way out: the source address and gateway of its default route, from
 * `ip -j route get` (iproute2) or, without it, Linux's `/proc/net/route`. Parsing is pure, so
 * tests hold it against real output; running the commands is one small function.
 */
import { execFileSync } from 'node:child_process';

/** The default route as the doctor reports it. */
export interface DefaultRoute {
  /** The address this machine sends from on it, when known. */
  readonly source?: string;
  /** The next hop, when there is one (none on a point-to-point link). */
  readonly gateway?: string;
  readonly device?: string;
}

/**
 * An address outside every private range, asked of the route table only: `ip route get` is a
 * lookup in the kernel's table and sends nothing, so no packet ever goes to it.
 */
export const ROUTE_PROBE_V4 = '1.1.1.1';
/** The same for IPv6 (a public resolver's address; looked up, never sent to). */
export const ROUTE_PROBE_V6 = '2606:4700:4700::1111';

/** A command's standard output, or `undefined` when it is missing, fails or runs past its time. */
export type RunCommand = (command: string, args: readonly string[]) => string | undefined;

/** Runs a local command with a short deadline; never throws. */
export const runCommand: RunCommand = (command, args) => {
  try {
    return execFileSync(command, [...args], {
      encoding: 'utf8',
      timeout: 3000,
      maxBuffer: 16 * 2 ** 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    // Missing, not permitted or failed: the caller says it could not read, with the command to run.
    return undefined;
  }
};

/** The route `ip -j route get ADDRESS` printed, or `undefined` when the text is not such an answer. */
export function parseIpRouteGet(json: string): DefaultRoute | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (typeof first !== 'object' || first === null) return undefined;
  const text = (key: string): string | undefined => {
    const value = (first as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : undefined;
  };
  return { source: text('prefsrc'), gateway: text('gateway'), device: text('dev') };
}

/** The default route in `/proc/net/route` (IPv4 only; the gateway in little-endian hex), without a source. */
export function parseProcRoute(text: string): DefaultRoute | undefined {
  for (const line of text.split('\n').slice(1, 10_001)) {
    const [device, destination, gateway, , , , metric, mask] = line.trim().split(/\s+/);
    if (destination !== '00000000' || mask !== '00000000' || device === undefined || gateway === undefined) continue;
    if (metric === undefined || !/^[0-9A-F]{8}$/i.test(gateway)) continue;
    const value = Number.parseInt(gateway, 16);
    const octets = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
    return value === 0 ? { device } : { device, gateway: octets.join('.') };
  }
  return undefined;
}

/**
 * The default route of `family` (IPv4 unless asked), read the best way this machine allows, or
 * `undefined` when it has none. IPv6 is read from iproute2 only: /proc/net/route is IPv4's.
 */
export function defaultRoute(
  run: RunCommand,
  read: (path: string) => string | undefined,
  family: 4 | 6 = 4,
): DefaultRoute | undefined {
  if (family === 6) {
    const json = run('ip', ['-j', '-6', 'route', 'get', ROUTE_PROBE_V6]);
    return json === undefined ? undefined : parseIpRouteGet(json);
  }
  const json = run('ip', ['-j', 'route', 'get', ROUTE_PROBE_V4]);
  const fromIp = json === undefined ? undefined : parseIpRouteGet(json);
  if (fromIp !== undefined) return fromIp;
  const table = read('/proc/net/route');
  return table === undefined ? undefined : parseProcRoute(table);
}

/**
 * The gateway as a socket can address it: a link-local IPv6 gateway (fe80::/10, what router
 * advertisements usually give) is only meaningful with its interface, as `fe80::1%eth0`.
 */
export function reachableGateway(route: DefaultRoute): string | undefined {
  const { gateway, device } = route;
  if (gateway === undefined || device === undefined) return gateway;
  return /^fe[89ab][0-9a-f]:/i.test(gateway) && !gateway.includes('%') ? `${gateway}%${device}` : gateway;
}
