/**
 * `dialback doctor PORT`: walks the chain from the service on this machine out to the
 * Internet and reports each link (doctor-steps.ts), then the first broken one and the one next
 * step. It reads the machine's state (the socket tables, the route, the firewall when root),
 * listens on the port itself when nothing else does (as `listen` does, so the check from
 * outside can be proven with a one-time token) and changes nothing else.
 */
import type { DialbackClient } from '../client/dialback-client.ts';
import { type DoctorReport, type DoctorStep, doctorVerdict } from '../contract/doctor.ts';
import {
  addressStep,
  bindStep,
  type FirewallUnread,
  firewallStep,
  outsideStep,
  routerSteps,
  serviceStep,
  type Target,
} from './doctor-steps.ts';
import { CliFailure } from './explain.ts';
import { type ListenOutcome, listenAndCheck } from './listen.ts';
import { findListeners } from './listeners.ts';
import { type ProcFiles, REAL_PROC } from './local-service.ts';
import { type FirewallJudgement, judgeNftRuleset } from './nft-judge.ts';
import { defaultRoute, type RunCommand, runCommand } from './route.ts';

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

/** Runs the doctor for `target` and returns every step and the verdict. */
export async function runDoctor(target: Target, deps: DoctorDeps): Promise<DoctorReport> {
  const proc = deps.proc ?? REAL_PROC;
  const run = deps.run ?? runCommand;
  // Read before the doctor binds the port, so its own listener is not mistaken for the service.
  const found = findListeners(target.port, target.protocol, proc, run);
  const route = defaultRoute(run, proc.read);
  let outcome: ListenOutcome | undefined;
  let failure: string | undefined;
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
  }
  // The firewall is judged for the family the check arrived over (IPv4 when it never ran).
  const family = outcome?.check.family ?? 4;
  const isRoot = deps.isRoot ?? process.getuid?.() === 0;
  const steps: DoctorStep[] = [
    serviceStep(target, found, outcome),
    bindStep(target, found?.listeners, outcome),
    firewallStep(target, readFirewall({ ...target, family }, run, proc.read, isRoot)),
    addressStep(route),
    ...routerSteps(target, route, outcome?.check.ip),
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
