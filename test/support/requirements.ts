/**
 * The one skip guard for tests that need more than Node: root, a Debian tool (nftables,
 * iproute2, nmap, util-linux's prlimit/unshare/taskset) or Chromium. Outside CI a test that
 * cannot run here skips and says why in one line, naming the package to install; under CI
 * (`CI` set, or `DIALBACK_REQUIRE_LAB=1` as `.ci/run` sets) it must run, so the file fails.
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian installs Chromium (`.ci/run` installs the package when it is missing). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Something a test needs: root, or a tool by its command name. */
export type Need =
  | 'root'
  | 'ip'
  | 'nft'
  | 'nmap'
  | 'taskset'
  | 'prlimit'
  | 'unshare'
  | 'chromium'
  | 'systemd-analyze'
  | 'caddy'
  | 'miniupnpd'
  | 'upnpc';

/** The Debian package that provides each tool. */
const PACKAGES: Readonly<Record<Exclude<Need, 'root'>, string>> = {
  ip: 'iproute2',
  nft: 'nftables',
  nmap: 'nmap',
  taskset: 'util-linux',
  prlimit: 'util-linux',
  unshare: 'util-linux',
  chromium: 'chromium',
  'systemd-analyze': 'systemd',
  caddy: 'caddy',
  miniupnpd: 'miniupnpd-nftables',
  upnpc: 'miniupnpc',
};

/** True under CI, where every guarded test must run (`CI` set, or `DIALBACK_REQUIRE_LAB=1`). */
export const RUN_REQUIRED =
  (process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI)) ||
  process.env.DIALBACK_REQUIRE_LAB === '1';

async function present(need: Exclude<Need, 'root'>): Promise<boolean> {
  if (need === 'chromium') {
    return access(CHROMIUM_PATH, constants.X_OK).then(
      () => true,
      () => false,
    );
  }
  return run('sh', ['-c', `command -v ${need}`]).then(
    () => true,
    () => false,
  );
}

/** What is missing for `needs`, or `undefined` when all are here (no printing, no throwing). */
export async function missing(needs: readonly Need[]): Promise<string | undefined> {
  for (const need of needs) {
    if (need === 'root') {
      if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables, mounts, prlimit on others)';
    } else if (!(await present(need))) {
      const where = need === 'chromium' ? ` at ${CHROMIUM_PATH}` : '';
      return `needs ${need}${where} (Debian package ${PACKAGES[need]})`;
    }
  }
  return undefined;
}

/**
 * Why the tests named `what` cannot run here, or `undefined` when they can. A skip always
 * prints one line saying why; under CI (`RUN_REQUIRED`) it throws instead, failing the file.
 * Use: `const skip = await skipReason('…', ['root', 'nft']); describe.runIf(skip === undefined)`.
 */
export async function skipReason(what: string, needs: readonly Need[]): Promise<string | undefined> {
  const why = await missing(needs);
  if (why === undefined) return undefined;
  if (RUN_REQUIRED) throw new Error(`${what} must run under CI but cannot: ${why}`);
  console.warn(`skipping ${what}: ${why}`);
  return why;
}
