/**
 * Runs `nmap -sT` (connect scan, as Dialback does) from the lab's checker namespace and reads
 * its XML report. Nmap is the reference Dialback's verdicts are compared with.
 */
import type { TcpPortReason as PortReason } from '../../../functions/contract/wire.ts';
import type { LabSide } from '../netns.ts';
import type { Verdict } from './rules.ts';

/**
 * Nmap's `--reason` names for connect-scan outcomes, mapped to Dialback's. They are the same
 * words: Dialback took Nmap's vocabulary (DESIGN §2). The one place they could differ is the
 * open reason, which Nmap's source calls ER_CONACCEPT but prints as `syn-ack`, as we do.
 * A name missing here fails the comparison loudly instead of being guessed.
 */
export const NMAP_REASONS: Readonly<Record<string, PortReason>> = {
  'syn-ack': 'syn-ack',
  'conn-refused': 'conn-refused',
  'no-response': 'no-response',
  'host-unreach': 'host-unreach',
  'net-unreach': 'net-unreach',
  'admin-prohibited': 'admin-prohibited',
  'proto-unreach': 'proto-unreach',
  'dest-unreach': 'dest-unreach',
};

/** One Nmap run: a verdict per port (reason mapped, or the raw name when unknown) and its own elapsed time. */
export interface NmapRun {
  readonly verdicts: ReadonlyMap<number, Verdict | { readonly state: string; readonly reason: string }>;
  /** Nmap's own `runstats` elapsed time (10 ms resolution), without process start-up. */
  readonly elapsedMs: number;
}

/** Parses `nmap -oX -` output. */
export function parseNmapXml(xml: string): NmapRun {
  const verdicts = new Map<number, { state: string; reason: string }>();
  const portPattern = /<port protocol="tcp" portid="(\d+)"><state state="([a-z|]+)" reason="([a-z-]+)"/g;
  for (const m of xml.matchAll(portPattern)) {
    const [, port = '', state = '', reason = ''] = m;
    verdicts.set(Number(port), { state, reason: NMAP_REASONS[reason] ?? reason });
  }
  const elapsed = /<finished [^>]*elapsed="([\d.]+)"/.exec(xml)?.[1];
  if (elapsed === undefined) throw new Error(`nmap output has no runstats: ${xml.slice(0, 500)}`);
  return { verdicts, elapsedMs: Number(elapsed) * 1000 };
}

/** How long one Nmap run may take before the lab gives up on it. */
const NMAP_TIMEOUT_MS = 120_000;

/**
 * `nmap -sT -Pn -n --reason` against `ports` of `address`, from `checker`: default timing,
 * no host discovery (as Dialback does none), no DNS.
 */
export async function nmapScan(
  checker: LabSide,
  address: string,
  family: 4 | 6,
  ports: readonly number[],
): Promise<NmapRun> {
  const args = ['nmap', '-sT', '-Pn', '-n', '--reason', '-p', ports.join(','), '-oX', '-'];
  if (family === 6) args.push('-6');
  args.push(address);
  return parseNmapXml(await checker.exec(args, undefined, NMAP_TIMEOUT_MS));
}
