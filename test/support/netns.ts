/**
 * Throwaway network namespaces for tests: real kernels, real veth links, real nftables rules.
 * Addresses come only from 198.18.0.0/15 and 2001:db8::/32 (benchmarking and documentation
 * ranges), and every name carries a per-run suffix so parallel runs never collide.
 * Everything made here is removed by `destroy()`, which tests call in `afterAll`/`finally`.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { missing, type Need, skipReason } from './requirements.ts';

const run = promisify(execFile);

/** The tools a lab may need beyond ip and nft (see test/support/requirements.ts). */
type LabTool = Extract<Need, 'nmap' | 'taskset'>;

/** Why namespace tests cannot run here, or `undefined` when they can (nothing printed). */
export function namespaceSupport(extraTools: readonly LabTool[] = []): Promise<string | undefined> {
  return missing(['root', 'ip', 'nft', ...extraTools]);
}

/**
 * Why the namespace tests named `what` cannot run here, or `undefined` when they can: the one
 * skip guard (test/support/requirements.ts), which prints why it skips and fails under CI.
 */
export function labSkipReason(what: string, extraTools: readonly LabTool[] = []): Promise<string | undefined> {
  return skipReason(what, ['root', 'ip', 'nft', ...extraTools]);
}

/** Runs a command, rejecting with its stderr on failure or after `timeoutMs`. */
export async function sh(
  command: string,
  args: readonly string[],
  input?: string,
  timeoutMs = 20_000,
): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run(command, [...args], { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${err}`));
    });
    child.stdin.end(input);
  });
}

/** A network namespace joined to the test's own (root) namespace by a veth pair. */
export interface HostLink {
  /** Namespace name, for `ip netns exec`. */
  readonly ns: string;
  /** The namespace's addresses. */
  readonly v4: string;
  readonly v6: string;
  /** The root side's addresses (what the namespace sees connections come from). */
  readonly hostV4: string;
  readonly hostV6: string;
  /** Runs a command inside the namespace. */
  exec(args: readonly string[], input?: string): Promise<string>;
  /** Loads an nftables ruleset inside the namespace (replacing the previous one). */
  nft(ruleset: string): Promise<void>;
  /** Deletes the namespace and the veth pair. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Packets counted so far by the named nftables counter in table `inet fw` of `link`'s namespace. */
export async function counterPackets(link: HostLink, name: string): Promise<number> {
  const out = await link.exec(['nft', 'list', 'counter', 'inet', 'fw', name]);
  return Number(/packets (\d+)/.exec(out)?.[1] ?? Number.NaN);
}

/** A short random suffix for names; interface names are limited to 15 characters. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

/** A /24 in 198.18.0.0/15 and a /64 in 2001:db8::/32, derived from the suffix so concurrent runs differ. */
function labNets(id: string): { v4Net: string; v6Net: string } {
  const n = Number.parseInt(id.slice(0, 2), 16);
  const m = Number.parseInt(id.slice(2, 4), 16);
  // Written canonically (no leading zeros, no zero group), as the kernel reports peers, so a
  // test can compare an address it configured with one a server saw.
  const group = (hex: string): string => (Number.parseInt(hex, 16) || 1).toString(16);
  return { v4Net: `198.${18 + (n & 1)}.${m}`, v6Net: `2001:db8:${group(id.slice(0, 4))}:${group(id.slice(4))}` };
}

function nsExec(ns: string): (args: readonly string[], input?: string, timeoutMs?: number) => Promise<string> {
  return (args, input, timeoutMs) => sh('ip', ['netns', 'exec', ns, ...args], input, timeoutMs);
}

/** Where root links claim their subnets: one file per /24, named by its index, holding the claimer's PID. */
export const HOST_LINK_CLAIMS = join(os.tmpdir(), 'dialback-host-links');

/** 198.18.0.0/15 holds 512 /24s. */
export const HOST_LINK_NETS = 512;

/**
 * Whether the claim in `file` belongs to a process that is gone. A claim being written (empty),
 * or one removed meanwhile, is not stale: only a PID that no longer runs frees it.
 */
function claimIsStale(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Claims a subnet for a root link that no other link on this machine holds. Every root link is
 * routed by the root namespace, and test files run in parallel processes: two links on one /24
 * would send one test's packets into the other's namespace, a wrong verdict that looks like the
 * probe's. A claim is a file created exclusively (so two processes never win the same one); a
 * claim whose process is gone is taken over, unless the root namespace still has an address in
 * that /24 (a link a killed run left behind), which stays claimed.
 */
export async function claimHostLinkNet(
  claims = HOST_LINK_CLAIMS,
): Promise<{ index: number; v4Net: string; v6Net: string; release: () => void }> {
  mkdirSync(claims, { recursive: true });
  // Every /24 once, from a random one on, so concurrent claimers rarely meet.
  const first = randomInt(HOST_LINK_NETS);
  for (let step = 0; step < HOST_LINK_NETS; step++) {
    const index = (first + step) % HOST_LINK_NETS;
    const file = join(claims, String(index));
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A claim whose process is gone is taken over, once: exclusively, like any other.
      if (!claimIsStale(file)) continue;
      rmSync(file, { force: true });
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
      } catch {
        continue;
      }
    }
    const v4Net = `198.${18 + (index >> 8)}.${index & 255}`;
    const inUse = await sh('ip', ['-4', '-o', 'addr', 'show', 'to', `${v4Net}.0/24`]);
    if (inUse.trim() !== '') {
      // Left claimed by this process: the leftover link keeps the /24 until it is removed.
      continue;
    }
    // Written canonically (no leading zeros, no zero group), as the kernel reports peers.
    const v6Net = `2001:db8:a:${(index + 1).toString(16)}`;
    return { index, v4Net, v6Net, release: () => rmSync(file, { force: true }) };
  }
  throw new Error(`no free /24 for a root link in ${claims}`);
}

/**
 * Creates a namespace linked to the root namespace: root side 198.18.N.1 / 2001:db8:a:N::1,
 * namespace side .2 / ::2, on a subnet no other root link on this machine holds.
 */
export async function createHostLink(label: string): Promise<HostLink> {
  const id = uniqueSuffix();
  const ns = `db-${label}-${id}`.slice(0, 30);
  const hostIf = `dbh${id}`;
  const nsIf = `dbn${id}`;
  const { v4Net, v6Net, release } = await claimHostLinkNet();
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await sh('ip', ['link', 'del', hostIf]).catch(() => undefined);
    await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    release();
  };
  try {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await sh('ip', ['link', 'set', nsIf, 'netns', ns]);
    await sh('ip', ['addr', 'add', `${v4Net}.1/24`, 'dev', hostIf]);
    await sh('ip', ['-6', 'addr', 'add', `${v6Net}::1/64`, 'dev', hostIf, 'nodad']);
    await sh('ip', ['link', 'set', hostIf, 'up']);
    const exec = nsExec(ns);
    await exec(['ip', 'addr', 'add', `${v4Net}.2/24`, 'dev', nsIf]);
    await exec(['ip', '-6', 'addr', 'add', `${v6Net}::2/64`, 'dev', nsIf, 'nodad']);
    await exec(['ip', 'link', 'set', nsIf, 'up']);
    await exec(['ip', 'link', 'set', 'lo', 'up']);
    return {
      ns,
      v4: `${v4Net}.2`,
      v6: `${v6Net}::2`,
      hostV4: `${v4Net}.1`,
      hostV6: `${v6Net}::1`,
      exec,
      nft: async (ruleset) => {
        await exec(['nft', '-f', '-'], `flush ruleset\n${ruleset}\n`);
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** A long-running process started inside a namespace; stopped by its own PID. */
export interface NsProcess {
  readonly pid: number;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** Resolves with the first stdout or stderr line containing `text`; rejects if the process exits first or after `ms`. */
  waitFor(text: string, ms: number): Promise<string>;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** One end of a lab pair: a namespace with one address per family. */
export interface LabSide {
  readonly ns: string;
  readonly v4: string;
  readonly v6: string;
  /** This side's address in `family`. */
  address(family: 4 | 6): string;
  /** Runs a command inside the namespace and returns its stdout; fails after `timeoutMs` (default 20 s). */
  exec(args: readonly string[], input?: string, timeoutMs?: number): Promise<string>;
  /** Loads an nftables ruleset inside the namespace (replacing the previous one). */
  nft(ruleset: string): Promise<void>;
  /**
   * Sets the namespace's own value of a per-namespace sysctl, e.g. `net.ipv4.icmp_ratelimit`;
   * resolves `false` when this kernel has no such setting.
   */
  sysctl(name: string, value: number): Promise<boolean>;
  /** Starts a long-running command inside the namespace; `destroy()` of the pair stops it too. */
  start(args: readonly string[], options?: StartOptions): NsProcess;
}

/** Two namespaces joined directly by a veth pair, as a checker and the client it dials back. */
export interface LabPair {
  /** Runs Dialback (and Nmap); address .1 / ::1. */
  readonly checker: LabSide;
  /** Calls Dialback and owns the ports and firewall rules being checked; address .2 / ::2. */
  readonly client: LabSide;
  /** Stops every process started in either namespace, then deletes both. Safe to call twice. */
  destroy(): Promise<void>;
}

/** How to start a long-running process in a namespace. */
export interface StartOptions {
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

const STOP_GRACE_MS = 3000;

/** Starts `args` in namespace `ns` (through `ip netns exec`, so the PID is the command's own). */
export function startInNamespace(ns: string, args: readonly string[], options: StartOptions = {}): NsProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], {
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let stopping: Promise<void> | undefined;
  return {
    // `ip netns exec` execs the command in place, so this PID is the command's own.
    pid: child.pid ?? -1,
    stderr: () => err,
    waitFor: (text, ms) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = `${out}\n${err}`.split('\n').find((l) => l.includes(text));
          if (line === undefined) return false;
          cleanup();
          resolve(line);
          return true;
        };
        const onData = (): void => {
          check();
        };
        const onExit = (): void => {
          if (!check()) {
            cleanup();
            reject(new Error(`${args.join(' ')} exited before printing "${text}": ${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${args.join(' ')} did not print "${text}" within ${ms} ms: ${err}`));
        }, ms);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.stderr.off('data', onData);
          child.off('exit', onExit);
        };
        if (check()) return;
        if (exited) {
          onExit();
          return;
        }
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', onExit);
      }),
    stop: () => {
      stopping ??= (async () => {
        if (exited) return;
        child.kill('SIGTERM');
        const grace = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exit;
        clearTimeout(grace);
      })();
      return stopping;
    },
  };
}

/**
 * On a veth pair nothing takes time: a SYN is answered inside the sender's own connect() call,
 * while it still holds the socket's lock, and Linux then keeps an ICMPv6 error only as a "soft"
 * error (TcpExtLockDroppedIcmps counts it): the connect learns of it from the answer to the
 * SYN retransmitted a second later. No real path is that fast. So the checker's commands run on
 * CPU 0 and the client's veth hands what it receives to the last CPU (RPS): the answer is
 * computed there, after connect() has returned. With one CPU there is no other to hand it to.
 */
function checkerCpuPin(): { prefix: readonly string[]; clientRpsMask: string | undefined } {
  const cpus = os.availableParallelism();
  if (cpus < 2) return { prefix: [], clientRpsMask: undefined };
  return { prefix: ['taskset', '-c', '0'], clientRpsMask: (1n << BigInt(cpus - 1)).toString(16) };
}

/** Creates each side's namespace, recording it in `made` at once so a failure still removes it. */
async function addNamespaces(sides: readonly LabSide[], made: string[]): Promise<void> {
  for (const s of sides) {
    await sh('ip', ['netns', 'add', s.ns]);
    made.push(s.ns);
  }
}

/** Stops every process started in the lab, then deletes its namespaces; safe to call twice. */
function namespacesTeardown(processes: readonly NsProcess[], made: readonly string[]): () => Promise<void> {
  let destroyed = false;
  return async () => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all(processes.map((p) => p.stop()));
    // Deleting a namespace removes its end of each veth pair, and with it the peer.
    for (const ns of made) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  };
}

/** One side of a lab: namespace `ns`, host `host` of the lab's networks, commands behind `prefix`. */
function labSide(
  ns: string,
  prefix: readonly string[],
  v4Net: string,
  v6Net: string,
  host: number,
  processes: NsProcess[],
): LabSide {
  const inNs = nsExec(ns);
  const exec = (args: readonly string[], input?: string, timeoutMs?: number): Promise<string> =>
    inNs([...prefix, ...args], input, timeoutMs);
  const v4 = `${v4Net}.${host}`;
  const v6 = `${v6Net}::${host}`;
  return {
    ns,
    v4,
    v6,
    address: (family) => (family === 4 ? v4 : v6),
    exec,
    nft: async (ruleset) => {
      await exec(['nft', '-f', '-'], `flush ruleset\n${ruleset}\n`);
    },
    // Written through /proc rather than sysctl(8), which lives in procps, not always installed.
    sysctl: async (name, value) => {
      const file = `/proc/sys/${name.replaceAll('.', '/')}`;
      const out = await exec(['sh', '-c', `if [ -e ${file} ]; then echo ${value} > ${file}; echo set; fi`]);
      return out.trim() === 'set';
    },
    start: (args, options) => {
      const p = startInNamespace(ns, [...prefix, ...args], options);
      processes.push(p);
      return p;
    },
  };
}

/**
 * Creates a checker and a client namespace joined by one veth pair: checker 198.18.N.1 and
 * 2001:db8:N::1, client .2 and ::2. Neither touches the root namespace's addresses or routes.
 */
export async function createLabPair(label: string): Promise<LabPair> {
  const id = uniqueSuffix();
  const { v4Net, v6Net } = labNets(id);
  const processes: NsProcess[] = [];
  const made: string[] = [];
  const pin = checkerCpuPin();
  const side = (role: 'k' | 'c', host: number): LabSide =>
    labSide(`db-${label}-${role}-${id}`.slice(0, 30), role === 'k' ? pin.prefix : [], v4Net, v6Net, host, processes);
  const checker = side('k', 1);
  const client = side('c', 2);
  const destroy = namespacesTeardown(processes, made);
  try {
    await addNamespaces([checker, client], made);
    const kIf = `dbk${id}`;
    const cIf = `dbc${id}`;
    await sh('ip', ['link', 'add', kIf, 'netns', checker.ns, 'type', 'veth', 'peer', 'name', cIf, 'netns', client.ns]);
    for (const [s, dev] of [
      [checker, kIf],
      [client, cIf],
    ] as const) {
      await s.exec(['ip', 'addr', 'add', `${s.v4}/24`, 'dev', dev]);
      await s.exec(['ip', '-6', 'addr', 'add', `${s.v6}/64`, 'dev', dev, 'nodad']);
      await s.exec(['ip', 'link', 'set', dev, 'up']);
      await s.exec(['ip', 'link', 'set', 'lo', 'up']);
    }
    if (pin.clientRpsMask !== undefined) {
      await client.exec(['sh', '-c', `echo ${pin.clientRpsMask} > /sys/class/net/${cIf}/queues/rx-0/rps_cpus`]);
    }
    return { checker, client, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** Several checkers on one network with one client, as regions of one deployment see a caller. */
export interface LabStar {
  /** Each runs its own Dialback: 198.18.N.1, then .3, .4, … (and ::1, ::3, …). */
  readonly checkers: readonly LabSide[];
  /** One address for all of them, .2 / ::2, on a bridge that joins every checker's link. */
  readonly client: LabSide;
  /** Stops every process started in any namespace, then deletes them all. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * Creates `count` checker namespaces and one client namespace whose bridge joins them on one
 * /24 and one /64, so the client has a single address, as a caller has, and each checker a
 * distinct one its firewall can tell apart, as the regions of one deployment are.
 */
export async function createLabStar(label: string, count: number): Promise<LabStar> {
  const id = uniqueSuffix();
  const { v4Net, v6Net } = labNets(id);
  const processes: NsProcess[] = [];
  const made: string[] = [];
  const pin = checkerCpuPin();
  const checkers = Array.from({ length: count }, (_, i) =>
    labSide(`db-${label}-k${i}-${id}`.slice(0, 30), pin.prefix, v4Net, v6Net, i === 0 ? 1 : i + 2, processes),
  );
  const client = labSide(`db-${label}-c-${id}`.slice(0, 30), [], v4Net, v6Net, 2, processes);
  const destroy = namespacesTeardown(processes, made);
  try {
    await addNamespaces([client, ...checkers], made);
    await client.exec(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    for (const [i, checker] of checkers.entries()) {
      const kIf = `dbk${i}${id}`;
      const cIf = `dbc${i}${id}`;
      await sh('ip', [
        'link',
        'add',
        kIf,
        'netns',
        checker.ns,
        'type',
        'veth',
        'peer',
        'name',
        cIf,
        'netns',
        client.ns,
      ]);
      await checker.exec(['ip', 'addr', 'add', `${checker.v4}/24`, 'dev', kIf]);
      await checker.exec(['ip', '-6', 'addr', 'add', `${checker.v6}/64`, 'dev', kIf, 'nodad']);
      await checker.exec(['ip', 'link', 'set', kIf, 'up']);
      await checker.exec(['ip', 'link', 'set', 'lo', 'up']);
      await client.exec(['ip', 'link', 'set', cIf, 'master', 'br0']);
      await client.exec(['ip', 'link', 'set', cIf, 'up']);
      if (pin.clientRpsMask !== undefined) {
        await client.exec(['sh', '-c', `echo ${pin.clientRpsMask} > /sys/class/net/${cIf}/queues/rx-0/rps_cpus`]);
      }
    }
    await client.exec(['ip', 'addr', 'add', `${client.v4}/24`, 'dev', 'br0']);
    await client.exec(['ip', '-6', 'addr', 'add', `${client.v6}/64`, 'dev', 'br0', 'nodad']);
    await client.exec(['ip', 'link', 'set', 'br0', 'up']);
    await client.exec(['ip', 'link', 'set', 'lo', 'up']);
    return { checkers, client, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}
