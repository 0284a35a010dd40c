/**
 * Throwaway network namespaces for tests: real kernels, real veth links, real nftables rules.
 * Addresses come only from 198.18.0.0/15 and 2001:db8::/32 (benchmarking and documentation
 * ranges), and every name carries a per-run suffix so parallel runs never collide.
 * Everything made here is removed by `destroy()`, which tests call in `afterAll`/`finally`.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why namespace tests cannot run here, or `undefined` when they can. */
export async function namespaceSupport(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root for ip netns and nftables';
  for (const tool of ['ip', 'nft']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `needs ${tool} (Debian packages iproute2, nftables)`;
    }
  }
  return undefined;
}

/** True when CI demands that lab tests run rather than skip (`.ci/run` sets it). */
export const LAB_REQUIRED = process.env.DIALBACK_REQUIRE_LAB === '1';

/** Runs a command, rejecting with its stderr on failure. */
export async function sh(command: string, args: readonly string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await run(command, [...args], { timeout: 20_000 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
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

/** A short random suffix for names; interface names are limited to 15 characters. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * Creates a namespace linked to the root namespace: root side 198.18.N.1 / 2001:db8:N::1,
 * namespace side .2 / ::2, with N derived from the suffix so concurrent runs differ.
 */
export async function createHostLink(label: string): Promise<HostLink> {
  const id = uniqueSuffix();
  const ns = `db-${label}-${id}`.slice(0, 30);
  const hostIf = `dbh${id}`;
  const nsIf = `dbn${id}`;
  const n = Number.parseInt(id.slice(0, 2), 16);
  const m = Number.parseInt(id.slice(2, 4), 16);
  const v4Net = `198.${18 + (n & 1)}.${m}`;
  const v6Net = `2001:db8:${id.slice(0, 4)}:${id.slice(4)}`;
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await sh('ip', ['link', 'del', hostIf]).catch(() => undefined);
    await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  };
  try {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await sh('ip', ['link', 'set', nsIf, 'netns', ns]);
    await sh('ip', ['addr', 'add', `${v4Net}.1/24`, 'dev', hostIf]);
    await sh('ip', ['-6', 'addr', 'add', `${v6Net}::1/64`, 'dev', hostIf, 'nodad']);
    await sh('ip', ['link', 'set', hostIf, 'up']);
    const exec = (args: readonly string[], input?: string): Promise<string> =>
      sh('ip', ['netns', 'exec', ns, ...args], input);
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
