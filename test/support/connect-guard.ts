/**
 * Tests cannot reach the outside, by construction: every socket call that can send a packet
 * is refused, with a thrown error, unless it goes to loopback (127.0.0.0/8, ::1), to the lab's
 * ranges (198.18.0.0/15 benchmarking, 2001:db8::/32 documentation: test/support/netns.ts) or
 * to a unix socket. Installed for every test file (guard-setup.ts, vitest `setupFiles`) and by
 * the bench child that runs the deployed bundle.
 *
 * Covered: `net.Socket#connect` in every call form (options, `port, host`, a path, and the
 * normalized `[options, callback]` array `net.connect` passes it), which is also how `tls`,
 * `http`/`https` agents and `fetch` connect; `dgram.Socket#connect` and `#send` (an explicit
 * address, or the connected one that `connect` checked); and DNS, which leaves from C++ rather
 * than through these sockets: `lookup` of any name but `localhost` (a literal sends nothing), and
 * queries from a resolver whose servers are not allowed (a loopback server on port 53 is the
 * machine's own forwarding stub, so it counts as outside). Not covered: child processes (each
 * is its own Node; the CLI and local-server tests give theirs loopback URLs) and Chromium
 * (started with background networking off, pointed at loopback servers).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const ALLOWED = new net.BlockList();
ALLOWED.addSubnet('127.0.0.0', 8, 'ipv4');
ALLOWED.addSubnet('198.18.0.0', 15, 'ipv4');
ALLOWED.addAddress('::1', 'ipv6');
ALLOWED.addSubnet('2001:db8::', 32, 'ipv6');

/** Whether a host (a name or an address literal, IPv4-mapped or not) is one a test may send to. */
export function mayReach(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
  if (mapped !== undefined) return ALLOWED.check(mapped, 'ipv4');
  const family = net.isIP(bare);
  if (family === 0) return false;
  return ALLOWED.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** Thrown for a refused call; `host` is where it would have gone. */
export class OutsideTraffic extends Error {
  override readonly name = 'OutsideTraffic';
  readonly host: string;
  constructor(host: string, what: string) {
    super(`connect guard: refused ${what} to ${host} (tests may reach loopback and the lab's ranges only)`);
    this.host = host;
  }
}

/**
 * Where a `net.Socket#connect` call goes: `undefined` for a unix socket, else the host
 * (`localhost` when none is given, as Node defaults it).
 */
export function netConnectHost(args: readonly unknown[]): string | undefined {
  // net.connect() hands the socket its normalized arguments as one array: [options, callback].
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: unknown; path?: unknown };
    if (typeof options.path === 'string') return undefined;
    return options.host === undefined || options.host === null ? 'localhost' : String(options.host);
  }
  // Node reads a string that is not a non-negative number as a pipe path, as here.
  if (typeof first === 'string' && !(Number(first) >= 0)) return undefined;
  return typeof args[1] === 'string' && args[1] !== '' ? args[1] : 'localhost';
}

/**
 * Where a `dgram.Socket#send` or `#connect` call goes: the one string argument after the
 * first, or `undefined` when none is given (Node then uses loopback, or the connected peer).
 */
export function datagramHost(args: readonly unknown[]): string | undefined {
  const address = args.slice(1).find((arg) => typeof arg === 'string');
  return typeof address === 'string' && address !== '' ? address : undefined;
}

/** Whether every server of a resolver may be asked: allowed addresses, never port 53 on loopback. */
function serversAllowed(servers: readonly string[]): boolean {
  return servers.every((server) => {
    const match = /^\[(.+)\]:(\d+)$/.exec(server) ?? /^([^:]+):(\d+)$/.exec(server);
    const host = match?.[1] ?? server;
    const port = match?.[2] === undefined ? 53 : Number(match[2]);
    return mayReach(host) && port !== 53;
  });
}

type Patch = () => void;

/** Replaces `object[key]` with `wrap(original)`; returns the undo. */
function patch<T extends object, K extends keyof T>(object: T, key: K, wrap: (original: T[K]) => T[K]): Patch {
  const original = object[key];
  object[key] = wrap(original);
  return () => {
    object[key] = original;
  };
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/**
 * A wrapper that calls `check` with the arguments, then the original method. A refusal is
 * thrown, or, for a method that answers with a promise (`promised`), rejected, as its own
 * errors would be.
 */
function checked<F>(original: F, check: (self: unknown, args: unknown[]) => void, promised = false): F {
  const call = original as unknown as AnyFunction;
  return function guarded(this: unknown, ...args: unknown[]) {
    try {
      check(this, args);
    } catch (error) {
      if (promised) return Promise.reject(error);
      throw error;
    }
    return call.apply(this, args);
  } as unknown as F;
}

/** The resolver methods that send queries (every `resolve*`, and `reverse`). */
function queryMethods(prototype: object): string[] {
  return Object.getOwnPropertyNames(prototype).filter((name) => name.startsWith('resolve') || name === 'reverse');
}

/**
 * Refuses every call that could send to an address a test may not reach (see the header),
 * noting each refused host in `refused`; returns a function that undoes it.
 */
export function guardOutboundConnections(refused: string[] = []): () => void {
  const refuse = (host: string, what: string): never => {
    refused.push(host);
    throw new OutsideTraffic(host, what);
  };
  const checkHost = (host: string | undefined, what: string): void => {
    if (host !== undefined && !mayReach(host)) refuse(host, what);
  };
  // A literal is answered without a query (and `listen` looks up `::` to bind, sending nothing).
  const checkLookup = (host: unknown): void => {
    if (typeof host !== 'string' || net.isIP(host) === 0) checkHost(String(host), 'a DNS lookup');
  };
  const checkResolver = (self: unknown, args: unknown[]): void => {
    const servers = (self as { getServers(): string[] }).getServers();
    if (!serversAllowed(servers)) refuse(servers.join(','), `a DNS query for ${String(args[0])}`);
  };
  const undo: Patch[] = [
    patch(net.Socket.prototype, 'connect', (original) =>
      checked(original, (_self, args) => checkHost(netConnectHost(args), 'a TCP connection')),
    ),
    patch(dgram.Socket.prototype, 'connect', (original) =>
      checked(original, (_self, args) => checkHost(datagramHost(args), 'a UDP connect')),
    ),
    patch(dgram.Socket.prototype, 'send', (original) =>
      checked(original, (_self, args) => checkHost(datagramHost(args), 'a datagram')),
    ),
    patch(dns, 'lookup', (original) => checked(original, (_self, args) => checkLookup(args[0]))),
    patch(dns.promises, 'lookup', (original) => checked(original, (_self, args) => checkLookup(args[0]), true)),
  ];
  for (const [prototype, promised] of [
    [dns.Resolver.prototype, false],
    [dns.promises.Resolver.prototype, true],
  ] as const) {
    const methods = prototype as unknown as Record<string, unknown>;
    for (const name of queryMethods(prototype)) {
      undo.push(patch(methods, name, (m) => checked(m, checkResolver, promised)));
    }
  }
  // The module-level resolve*/reverse are the default resolver's, bound when dns loads.
  for (const [module, promised] of [
    [dns, false],
    [dns.promises, true],
  ] as const) {
    const functions = module as unknown as Record<string, unknown>;
    const defaultResolver = { getServers: () => module.getServers() };
    for (const name of queryMethods(module)) {
      undo.push(
        patch(functions, name, (m) => checked(m, (_self, args) => checkResolver(defaultResolver, args), promised)),
      );
    }
  }
  // ESM named imports of builtins (`import { lookup } from 'node:dns'`) see the patch only after this.
  syncBuiltinESMExports();
  return () => {
    for (const restore of undo.reverse()) restore();
    syncBuiltinESMExports();
  };
}
