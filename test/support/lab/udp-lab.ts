/**
 * The UDP verdict lab: the client's UDP services and firewall rows (both families), the
 * checker's datagram counter and loss, and `nmap -sU` run with Dialback's own payloads, so both
 * tools put the same bytes on the wire. What each ICMP error becomes is the kernel's doing,
 * checked here against the real thing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UdpPortReason, UdpPortState } from '../../../functions/contract/wire.ts';
import { UDP_PAYLOADS } from '../../../functions/core/udp-payloads.ts';
import { createLabPair, type LabPair, type LabSide } from '../netns.ts';
import { bundledScript } from './bundled-script.ts';
import { type DialbackServer, startDialback } from './dialback.ts';
import { applySysctls, UNLIMITED_ICMP } from './rules.ts';
import type { UdpResponderJob } from './udp-responder.ts';

/** A UDP verdict. */
export interface UdpVerdict {
  readonly state: UdpPortState | string;
  readonly reason: UdpPortReason | string;
}

/** One client UDP port and what it must read. */
export interface UdpRow {
  readonly name: string;
  readonly port: number;
  /** The client's nftables statement after `udp dport <port>`. */
  readonly rule?: string;
  /** What listens: an answering service, a silent one, a DNS server (answers DNS queries only). */
  readonly service?: 'echo' | 'silent' | 'dns';
  readonly expected: UdpVerdict;
  /** What `nmap -sU` reads when it differs from Dialback, with why. */
  readonly nmap?: { readonly verdict: UdpVerdict; readonly why: string };
}

const OPEN: UdpVerdict = { state: 'open', reason: 'udp-response' };
const SILENT: UdpVerdict = { state: 'open|filtered', reason: 'no-response' };
const CLOSED: UdpVerdict = { state: 'closed', reason: 'port-unreach' };

/** The rows, the same in both families. */
export const UDP_ROWS: readonly UdpRow[] = [
  { name: 'DNS server on 53 (answers only a DNS query)', port: 53, service: 'dns', expected: OPEN },
  { name: 'answering service', port: 20_101, service: 'echo', expected: OPEN },
  { name: 'silent service', port: 20_102, service: 'silent', expected: SILENT },
  { name: 'nothing listening', port: 20_103, expected: CLOSED },
  { name: 'drop', port: 20_104, rule: 'drop', expected: SILENT },
  { name: 'reject (ICMP port-unreachable)', port: 20_105, rule: 'reject', expected: CLOSED },
  {
    name: 'reject with icmpx admin-prohibited',
    port: 20_106,
    rule: 'reject with icmpx admin-prohibited',
    expected: { state: 'filtered', reason: 'admin-prohibited' },
  },
  {
    name: 'reject with icmpx host-unreachable',
    port: 20_107,
    rule: 'reject with icmpx host-unreachable',
    expected: SILENT,
    nmap: {
      verdict: { state: 'filtered', reason: 'host-unreach' },
      why: 'host-unreachable is a "soft" ICMP error that Linux reports on a UDP socket only with IP_RECVERR, which node:dgram cannot set; nmap reads raw ICMP',
    },
  },
];

/** Free in the client: `dialback listen --udp` binds it. */
export const LISTEN_UDP_PORT = 20_120;
/** `listen --udp` binds it too, but the client's NAT hands the checker's datagrams to the answering service. */
export const REDIRECTED_UDP_PORT = 20_121;

/** Where every probed UDP port lies, for the checker's counter and loss. */
const PROBED = '{ 53, 20100-20199 }';

/** Name of the checker's counter of UDP datagrams sent to the probed ports. */
export const DATAGRAM_COUNTER = 'probe_datagrams';

/**
 * The client's ruleset: each row's rule in one `inet` table, behind `lossPercent` random loss of
 * the probe's datagrams as they arrive. Loss sits on the client's side of the link, not on the
 * checker's output as in the TCP lab: Linux answers a datagram dropped by the sender's own
 * output hook with EPERM from send(), a local failure (503), not loss on the path.
 */
export function udpClientRuleset(lossPercent = 0): string {
  const lines = UDP_ROWS.filter((r) => r.rule !== undefined).map((r) => `    udp dport ${r.port} ${r.rule}`);
  const loss =
    lossPercent > 0
      ? `  chain loss {
    type filter hook prerouting priority -300; policy accept;
    udp dport ${PROBED} numgen random mod 100 < ${lossPercent} drop
  }
`
      : '';
  return `table inet lab {
${loss}  chain input {
    type filter hook input priority 0; policy accept;
${lines.join('\n')}
  }
  chain divert {
    type nat hook prerouting priority -100;
    udp dport ${REDIRECTED_UDP_PORT} redirect to :${UDP_ROWS.find((r) => r.service === 'echo')?.port}
  }
}`;
}

/** The checker's ruleset: counts every datagram it sends to a probed port. */
export function udpCheckerRuleset(): string {
  return `table inet lab {
  counter ${DATAGRAM_COUNTER} {
  }
  chain output {
    type filter hook output priority 0; policy accept;
    udp dport ${PROBED} counter name ${DATAGRAM_COUNTER}
  }
}`;
}

/** What the responder in the client runs. */
function responderJob(): UdpResponderJob {
  const of = (service: UdpRow['service']): number[] => UDP_ROWS.filter((r) => r.service === service).map((r) => r.port);
  return { echo: of('echo'), silent: of('silent'), dns: of('dns') };
}

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A running UDP lab. */
export interface UdpLab {
  readonly pair: LabPair;
  readonly servers: ReadonlyMap<4 | 6, DialbackServer>;
  /** A directory holding an `nmap-payloads` with Dialback's payloads, for `nmap --datadir`. */
  readonly nmapDataDir: string;
  destroy(): Promise<void>;
}

/** Sets up the UDP lab; with `serverEnv`, starts Dialback in the checker on both families. */
export async function startUdpLab(label: string, serverEnv?: Readonly<Record<string, string>>): Promise<UdpLab> {
  const pair = await createLabPair(label);
  const nmapDataDir = await mkdtemp(path.join(os.tmpdir(), 'dialback-nmap-'));
  const destroy = async (): Promise<void> => {
    await pair.destroy();
    await rm(nmapDataDir, { recursive: true, force: true });
  };
  try {
    await writeFile(path.join(nmapDataDir, 'nmap-payloads'), nmapPayloadFile());
    await applySysctls(pair.client, UNLIMITED_ICMP);
    await pair.client.nft(udpClientRuleset());
    await pair.checker.nft(udpCheckerRuleset());
    const responder = pair.client.start(
      [
        process.execPath,
        await bundledScript(fileURLToPath(new URL('./udp-responder.ts', import.meta.url))),
        JSON.stringify(responderJob()),
      ],
      { cwd: REPO_ROOT },
    );
    await responder.waitFor('udp ready', 60_000);
    const servers = new Map<4 | 6, DialbackServer>();
    if (serverEnv !== undefined) {
      const [v4, v6] = await Promise.all(([4, 6] as const).map((f) => startDialback(pair.checker, f, serverEnv)));
      if (v4 !== undefined) servers.set(4, v4);
      if (v6 !== undefined) servers.set(6, v6);
    }
    return { pair, servers, nmapDataDir, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** Dialback's payloads in Nmap's payload-file syntax: `udp PORT "\xNN…"`. */
export function nmapPayloadFile(): string {
  const lines = [...UDP_PAYLOADS].map(
    ([port, payload]) =>
      `udp ${port} "${[...payload.bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}"`,
  );
  return `${lines.join('\n')}\n`;
}

/** One `nmap -sU` run: a verdict per port and Nmap's own elapsed time. */
export interface NmapUdpRun {
  readonly verdicts: ReadonlyMap<number, UdpVerdict>;
  readonly elapsedMs: number;
}

/** Parses `nmap -oX -` output for UDP ports. */
export function parseNmapUdpXml(xml: string): NmapUdpRun {
  const verdicts = new Map<number, UdpVerdict>();
  for (const m of xml.matchAll(/<port protocol="udp" portid="(\d+)"><state state="([a-z|]+)" reason="([a-z-]+)"/g)) {
    const [, port = '', state = '', reason = ''] = m;
    verdicts.set(Number(port), { state, reason });
  }
  const elapsed = /<finished [^>]*elapsed="([\d.]+)"/.exec(xml)?.[1];
  if (elapsed === undefined) throw new Error(`nmap output has no runstats: ${xml.slice(0, 500)}`);
  return { verdicts, elapsedMs: Number(elapsed) * 1000 };
}

/**
 * `nmap -sU -Pn -n --reason` from `checker` against `ports`, with Dialback's payloads
 * (`--datadir`) and otherwise default timing.
 */
export async function nmapUdpScan(
  checker: LabSide,
  dataDir: string,
  address: string,
  family: 4 | 6,
  ports: readonly number[],
): Promise<NmapUdpRun> {
  const args = ['nmap', '-sU', '-Pn', '-n', '--reason', '--datadir', dataDir, '-p', ports.join(','), '-oX', '-'];
  if (family === 6) args.push('-6');
  args.push(address);
  return parseNmapUdpXml(await checker.exec(args, undefined, 180_000));
}
