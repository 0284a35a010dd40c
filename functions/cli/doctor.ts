/**
 * `dialback doctor PORT`: walks the chain from the service on this machine out to the
 * Internet and reports each link (doctor-steps.ts), then the first broken one and the one next
 * step. It reads the machine's state (the socket tables, the route, the firewall when root),
 * listens on the port itself when nothing else does (as `listen` does, so the check from
 * outside can be proven with a one-time token) and changes nothing else.
 */
import type { DialbackClient } from '../client/dialback-client.ts';
import { classifyAddress, isPublicAddress } from '../contract/address.ts';
import { type DoctorReport, type DoctorStep, doctorVerdict } from '../contract/doctor.ts';
import { ipv6FirewallWords, type MapOutcome, natStep, type RouterView, routerStep } from './doctor-router-steps.ts';
import {
  addressStep,
  bindStep,
  type FirewallUnread,
  firewallStep,
  outsideStep,
  serviceStep,
  type Target,
} from './doctor-steps.ts';
import { CliFailure } from './explain.ts';
import { type ListenOutcome, listenAndCheck } from './listen.ts';
import { findListeners } from './listeners.ts';
import { type ProcFiles, REAL_PROC } from './local-service.ts';
import { type FirewallJudgement, judgeNftRuleset } from './nft-judge.ts';
import { addMapping, type HeldMapping } from './port-mapping.ts';
import { type DefaultRoute, defaultRoute, type RunCommand, reachableGateway, runCommand } from './route.ts';
import { discoverRouter, type RouterIo, routerIo } from './router-discovery.ts';

/** What the doctor reads the machine with; tests pass their own. */
export interface DoctorDeps {
  readonly client: DialbackClient;
  /** Turns a failed check into one line a person can act on (the CLI's own explanations). */
  readonly describeFailure: (error: unknown) => string;
  readonly proc?: ProcFiles;
  readonly run?: RunCommand;
  /** Whether this process may read the firewall (root); default: asks the OS. */
  readonly isRoot?: boolean;
  /** How long to wait for the dial-proof token after an open answer. */
  readonly proofWaitMs?: number;
  /** How the router is asked (UPnP IGD, NAT-PMP, PCP); default: the real network. */
  readonly routerIo?: RouterIo;
  /** `--map`: forward the port on the router for the check; `keep` leaves the forward in place after. */
  readonly map?: { readonly keep: boolean };
  /** `-6`: the check goes over IPv6, so `--map` opens a pinhole for this machine's IPv6 address. */
  readonly family?: 4 | 6;
}

/**
 * Whether and why the router is not asked, before asking it: only when the API saw an address
 * that is not this machine's own is there a router between them worth a question (and only
 * then may the doctor send anything to the gateway).
 */
function routerNotAsked(t: Target, source: string | undefined, seen: string | undefined): RouterView | undefined {
  if (seen === undefined) {
    return {
      kind: 'not-asked',
      status: 'unknown',
      why: 'The router was not asked: the check from outside did not run, so whether one is on the path is not known.',
    };
  }
  if (seen === source) {
    return isPublicAddress(seen)
      ? {
          kind: 'not-asked',
          status: 'ok',
          why: "No router translates this route: the API saw this machine's own address.",
        }
      : {
          kind: 'not-asked',
          status: 'unknown',
          why: `The API saw this machine's own address ${seen}: it is on this network, so its check says nothing about the router.`,
        };
  }
  if (classifyAddress(seen)?.range === 'loopback') {
    return {
      kind: 'not-asked',
      status: 'unknown',
      why: `The API saw ${seen}, this machine over loopback: no router is between them, so the router was not asked.`,
    };
  }
  if (seen.includes(':')) return { kind: 'not-asked', status: 'unknown', ...ipv6FirewallWords(t, seen) };
  return undefined;
}

/** The router view when there is no default route to a gateway: nothing to ask. */
const NO_GATEWAY: RouterView = {
  kind: 'not-asked',
  status: 'unknown',
  why: 'No default gateway was found, so there is no router to ask.',
};

/**
 * Removes `held` if the process is interrupted (Ctrl-C, SIGTERM) while it holds the forward,
 * then exits as the signal would have; returns the function that stops listening for it.
 */
function removeOnInterrupt(held: HeldMapping): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    void held.remove().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** `--map`: asks the router for a forward before the check; what it said, and the forward when it made one. */
async function mapBeforeCheck(
  target: Target,
  route: DefaultRoute | undefined,
  io: RouterIo,
  keep: boolean,
): Promise<{ view: RouterView; held?: HeldMapping; failed?: MapOutcome }> {
  if (route?.gateway === undefined || route.source === undefined) {
    return { view: NO_GATEWAY, failed: { kind: 'failed', why: 'there is no default gateway to ask' } };
  }
  const gateway = reachableGateway(route) ?? route.gateway;
  const facts = await discoverRouter(io, gateway, route.source, target, undefined, route.device);
  const view: RouterView = { kind: 'asked', facts };
  const made = await addMapping(io, facts, target, route.source, keep);
  const v6 = route.source.includes(':');
  return 'failed' in made ? { view, failed: { kind: 'failed', why: made.failed, v6 } } : { view, held: made };
}

/** Where a person reads the host firewall on systems whose firewall the doctor does not read yet. */
const OTHER_FIREWALLS: Partial<Record<NodeJS.Platform, string>> = {
  darwin: '/usr/libexec/ApplicationFirewall/socketfilterfw --getglobalstate; sudo pfctl -sr',
  win32: 'netsh advfirewall firewall show rule name=all dir=in',
};

/**
 * Reads the host firewall for `packet`: nftables' ruleset judged rule by rule, or why it could
 * not be read. Legacy iptables tables are invisible to nft, so their presence alone is a
 * reason not to judge.
 */
export function readFirewall(
  packet: Target & { family: 4 | 6 },
  run: RunCommand,
  read: (path: string) => string | undefined,
  isRoot: boolean,
  platform: NodeJS.Platform = process.platform,
): FirewallJudgement | FirewallUnread {
  const elsewhere = OTHER_FIREWALLS[platform];
  if (platform !== 'linux') {
    return {
      kind: 'unread',
      why: 'the doctor reads the host firewall on Linux only so far',
      ...(elsewhere ? { command: elsewhere } : {}),
    };
  }
  if (!isRoot) return { kind: 'unread', why: 'reading nftables needs root' };
  const legacy = read(packet.family === 4 ? '/proc/net/ip_tables_names' : '/proc/net/ip6_tables_names')?.trim();
  if (legacy !== undefined && legacy !== '') {
    const tool = packet.family === 4 ? 'iptables' : 'ip6tables';
    return {
      kind: 'unknown',
      why: `legacy ${tool} tables are loaded (${legacy.split('\n').join(', ')}), which nft does not show; read them with \`sudo ${tool}-legacy -S\``,
    };
  }
  const ruleset = run('nft', ['-j', 'list', 'ruleset']);
  if (ruleset === undefined) return { kind: 'unread', why: '`nft -j list ruleset` failed or nft is not installed' };
  return judgeNftRuleset(ruleset, packet);
}

/** The check from outside, with `--map`'s forward held around it and removed after (unless kept). */
async function checkHoldingForward(
  target: Target,
  deps: DoctorDeps,
  route: DefaultRoute | undefined,
  map: { held?: HeldMapping; failed?: MapOutcome } | undefined,
): Promise<{ outcome?: ListenOutcome; failure?: string; mapped?: MapOutcome }> {
  const held = map?.held;
  const keep = deps.map?.keep === true;
  const stopWatching = held === undefined || keep ? undefined : removeOnInterrupt(held);
  let outcome: ListenOutcome | undefined;
  let failure: string | undefined;
  let mapped = map?.failed;
  try {
    outcome = await listenAndCheck(deps.client, target.port, {
      udp: target.protocol === 'udp',
      ...(deps.proofWaitMs === undefined ? {} : { proofWaitMs: deps.proofWaitMs }),
    });
  } catch (error) {
    // listen's own message says to run listen with sudo; here it is the doctor that needs it.
    const privileged = error instanceof CliFailure && error.kind === 'privileged-port';
    failure = privileged
      ? `Nothing listens on ${target.port}/${target.protocol}, and only root may listen below 1024, so the doctor could not hold the port to prove the path. Run it with sudo, e.g. \`sudo node dialback.mjs doctor${target.protocol === 'udp' ? ' --udp' : ''} ${target.port}\`, or start the service and run it again.`
      : deps.describeFailure(error);
  } finally {
    // The forward goes whatever happened to the check, unless --keep asked to leave it.
    if (held !== undefined) {
      const removed = keep ? 'kept' : await held.remove();
      stopWatching?.();
      const { via, what, lifetimeSeconds, removeHow } = held;
      mapped = { kind: 'held', via, what, client: route?.source ?? '', lifetimeSeconds, removed, removeHow };
    }
  }
  return {
    ...(outcome === undefined ? {} : { outcome }),
    ...(failure === undefined ? {} : { failure }),
    ...(mapped === undefined ? {} : { mapped }),
  };
}

/** The router's answers, or why it was not asked (see `routerNotAsked`). */
async function askRouter(
  target: Target,
  route: DefaultRoute | undefined,
  seen: string | undefined,
  io: RouterIo,
): Promise<RouterView> {
  const notAsked = routerNotAsked(target, route?.source, seen);
  if (notAsked !== undefined) return notAsked;
  if (route?.gateway === undefined || route.source === undefined) return NO_GATEWAY;
  return { kind: 'asked', facts: await discoverRouter(io, route.gateway, route.source, target) };
}

/** Runs the doctor for `target` and returns every step and the verdict. */
export async function runDoctor(target: Target, deps: DoctorDeps): Promise<DoctorReport> {
  const proc = deps.proc ?? REAL_PROC;
  const run = deps.run ?? runCommand;
  // Read before the doctor binds the port, so its own listener is not mistaken for the service.
  const found = findListeners(target.port, target.protocol, proc, run);
  const route = defaultRoute(run, proc.read);
  const io = deps.routerIo ?? routerIo();
  // -6 --map: the pinhole is for this machine's IPv6 address, asked of its IPv6 gateway.
  const mapRoute = deps.family === 6 ? defaultRoute(run, proc.read, 6) : route;
  const map = deps.map === undefined ? undefined : await mapBeforeCheck(target, mapRoute, io, deps.map.keep);
  const { outcome, failure, mapped } = await checkHoldingForward(target, deps, mapRoute, map);
  const seen = outcome?.check.ip;
  const router = map?.view ?? (await askRouter(target, route, seen, io));
  const nat = natStep(target, route, router, seen);
  // The firewall is judged for the family the check arrived over (IPv4 when it never ran).
  const family = outcome?.check.family ?? 4;
  const isRoot = deps.isRoot ?? process.getuid?.() === 0;
  const steps: DoctorStep[] = [
    serviceStep(target, found, outcome),
    bindStep(target, found?.listeners, outcome),
    firewallStep(target, readFirewall({ ...target, family }, run, proc.read, isRoot)),
    addressStep(route),
    routerStep(target, route, router, nat.broken, mapped),
    nat.step,
    outsideStep(target, outcome, failure),
  ];
  return {
    port: target.port,
    protocol: target.protocol,
    steps,
    verdict: doctorVerdict(steps, outcome === undefined),
    ...(outcome === undefined ? {} : { check: outcome.check }),
  };
}
