/**
 * Dialback in the lab: the real local server (`infra/local/main.ts`, as `npm run build:server`
 * builds it) started in the checker namespace on the lab address, the client-side processes that
 * call it and own the ports, and the probe runner for many quick trials. Every process is
 * stopped by PID in the pair's `destroy()`, so a failing test cannot leave one behind.
 */
import { fileURLToPath } from 'node:url';
import type { TcpPortResult as PortResult } from '../../../functions/contract/wire.ts';
import type { LabSide, NsProcess } from '../netns.ts';
import { builtServerScript, bundledScript, standaloneCliScript } from './bundled-script.ts';
import type { HttpClientJob, HttpClientResult } from './http-client.ts';
import type { ProbeJob, ProbeTrial } from './probe-runner.ts';
import { LabFault, openWithoutHandshake } from './wire.ts';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const script = (name: string): string => fileURLToPath(new URL(name, import.meta.url));

/** The port Dialback listens on inside the checker namespace (the namespace is private to the run). */
export const DIALBACK_PORT = 8787;

/** Start-up of a lab process (the server's embedded table) on a busy 2-core machine. */
const START_TIMEOUT_MS = 60_000;

/** A Dialback server running in the checker namespace on one family's lab address. */
export interface DialbackServer {
  readonly url: string;
  readonly process: NsProcess;
}

/**
 * Starts the built server with `--host <address> --port <port> --allow-non-public` in the
 * checker namespace with `env` added (rate limits, probe timeout, `CHECKED_FROM` if not `lab`, …)
 * and waits until it serves.
 */
/** The command that runs the built server on `host:port`, lab addresses allowed. */
export async function serverCommand(host: string, port: number): Promise<string[]> {
  // The built server, not `npm start` under tsx: the verdicts come from a process like the one
  // that ships (bundled-script.ts).
  return [process.execPath, await builtServerScript(), '--host', host, '--port', String(port), '--allow-non-public'];
}

export async function startDialback(
  checker: LabSide,
  family: 4 | 6,
  env: Readonly<Record<string, string>>,
  port = DIALBACK_PORT,
): Promise<DialbackServer> {
  const address = checker.address(family);
  const proc = checker.start(await serverCommand(address, port), {
    env: { CHECKED_FROM: 'lab', ...env },
    cwd: REPO_ROOT,
  });
  await proc.waitFor('Dialback listening on', START_TIMEOUT_MS);
  const host = family === 6 ? `[${address}]` : address;
  return { url: `http://${host}:${port}`, process: proc };
}

/** Starts a listener on `ports` (both families) in the client namespace and waits until it is ready. */
export async function startListener(client: LabSide, ports: readonly number[]): Promise<NsProcess> {
  const listener = await bundledScript(script('./listener.ts'));
  const proc = client.start([process.execPath, listener, ...ports.map(String)], { cwd: REPO_ROOT });
  await proc.waitFor('listening on', START_TIMEOUT_MS);
  return proc;
}

/** Runs the CLI (the standalone `dialback.mjs`) in `side`'s namespace; gives its exit status and output. */
export async function runCliIn(
  side: Pick<LabSide, 'exec'>,
  args: readonly string[],
): Promise<{ code: number; out: string }> {
  const quoted = [process.execPath, await standaloneCliScript(), ...args].map((a) => `'${a}'`).join(' ');
  const out = await side.exec(['sh', '-c', `cd '${REPO_ROOT}' && ${quoted} 2>&1; echo "exit=$?"`], undefined, 60_000);
  return { code: Number(/exit=(\d+)\s*$/.exec(out)?.[1] ?? -1), out: out.replace(/exit=\d+\s*$/, '') };
}

/** Calls Dialback from the client namespace, `concurrency` requests at a time. */
export async function callDialback(
  client: LabSide,
  server: DialbackServer,
  paths: readonly string[],
  concurrency: number,
  timeoutMs = 120_000,
): Promise<HttpClientResult[]> {
  const job: HttpClientJob = { base: server.url, paths, concurrency };
  const httpClient = await bundledScript(script('./http-client.ts'));
  const out = await client.exec([process.execPath, httpClient, JSON.stringify(job)], undefined, timeoutMs);
  return JSON.parse(out) as HttpClientResult[];
}

/** The `results` of a `/check` JSON body. */
export function checkResults(body: unknown): readonly PortResult[] {
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new Error(`not a check response: ${JSON.stringify(body)}`);
  return results as PortResult[];
}

/**
 * Runs Dialback's probe directly in the checker namespace for `job.trials` trials. A TCP port
 * read open must have sent the checker a SYN-ACK (the lab's ruleset records them): an open
 * verdict the wire does not back is the probe's fault, and a dial the runtime reported connected
 * with no connection behind it is the lab's (a LabFault): either fails the run whatever the test asks.
 */
export async function runProbeTrials(
  checker: Pick<LabSide, 'exec'>,
  job: ProbeJob,
  timeoutMs = 120_000,
): Promise<ProbeTrial[]> {
  // Bundled, not under tsx: the verdicts are measured in a process like the Lambda's (bundled-script.ts).
  const runner = await bundledScript(script('./probe-runner.ts'));
  const out = await checker.exec([process.execPath, runner, JSON.stringify(job)], undefined, timeoutMs);
  const trials = JSON.parse(out) as ProbeTrial[];
  const unproven = trials.flatMap((t) => t.unproven);
  if (unproven.length > 0) {
    // The probe voided these dials, so no verdict is wrong; but the runner holds nothing that
    // could take a dial's descriptor (no loader, no worker: lab-probe-process.test.ts), so this
    // is the lab misbehaving, and the kernel's view of each socket is the lead to follow.
    throw new LabFault(
      `lab fault: the runtime reported ${unproven.length} connection(s) the kernel did not hold (IPv${job.family}): ` +
        unproven.map((u) => `port ${u.port}, kernel: ${u.kernel}`).join('; '),
    );
  }
  if (job.protocol !== 'udp') {
    const unbacked = await openWithoutHandshake(
      checker,
      job.family,
      trials.flatMap((t) => t.results),
    );
    if (unbacked.length > 0) {
      throw new Error(
        `probe fault: read ports ${unbacked.join(', ')} open (IPv${job.family}) with no SYN-ACK from them on the wire`,
      );
    }
  }
  return trials;
}

/** Packets counted so far by the checker's named SYN counter. */
export async function readCounter(side: LabSide, name: string): Promise<number> {
  const out = await side.exec(['nft', '-j', 'list', 'counter', 'inet', 'lab', name]);
  const parsed = JSON.parse(out) as { nftables: Array<{ counter?: { packets: number } }> };
  const counter = parsed.nftables.find((e) => e.counter !== undefined)?.counter;
  if (counter === undefined) throw new Error(`no counter ${name}: ${out}`);
  return counter.packets;
}

/**
 * Settings for the lab's servers: limits high enough for hundreds of checks from one client,
 * every row of a family in one request, and a short deadline so filtered rows answer quickly.
 */
export const LAB_SERVER_ENV: Readonly<Record<string, string>> = {
  RATE_LIMIT_PER_MINUTE: '100000',
  RATE_LIMIT_PER_DAY: '1000000',
  MAX_PORTS: '20',
  PROBE_TIMEOUT_MS: '1500',
};
