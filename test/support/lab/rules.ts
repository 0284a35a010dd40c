/**
 * The lab's firewall rows: one client port per row of DESIGN §2, the nftables rule that produces
 * it on the client, and the verdict Dialback must give. What each ICMP code becomes is Linux's
 * own mapping (net/ipv4/icmp.c icmp_err_convert, net/ipv6/icmp.c tab_unreach), checked here
 * against the real kernel rather than assumed.
 */
import type { TcpPortReason as PortReason, TcpPortState as PortState } from '../../../functions/contract/wire.ts';
import type { LabSide } from '../netns.ts';

/** State and reason, as Dialback and Nmap report them. */
export interface Verdict {
  readonly state: PortState;
  readonly reason: PortReason;
}

/** One client port and what a connect() to it must read. */
export interface VerdictRow {
  /** What the row is, for test names and the benchmark. */
  readonly name: string;
  readonly port: number;
  /** The client's nftables statement after `tcp dport <port>`; absent: no rule for that family. */
  readonly rule?: string;
  /** Something listens on the port. */
  readonly listen?: boolean;
  /** The row's outcome is random by design (SYN loss): Nmap is compared in the benchmark, not here. */
  readonly random?: boolean;
  readonly expected: Verdict;
}

const OPEN: Verdict = { state: 'open', reason: 'syn-ack' };
const CLOSED: Verdict = { state: 'closed', reason: 'conn-refused' };
const filtered = (reason: PortReason): Verdict => ({ state: 'filtered', reason });

/** Probe ports live in this range, so checker-side loss and SYN counters can match on it. */
export const PORT_RANGE = { first: 20_000, last: 20_999 } as const;

/** SYN loss the client applies in front of its listener in the `random` row. */
export const CLIENT_SYN_LOSS_PERCENT = 30;

/** Rows that exist in both families, with the same rule and the same verdict. */
const COMMON: readonly VerdictRow[] = [
  { name: 'listener', port: 20_001, listen: true, expected: OPEN },
  { name: 'nothing listening', port: 20_002, expected: CLOSED },
  { name: 'drop', port: 20_003, rule: 'drop', expected: filtered('no-response') },
  { name: 'reject with tcp reset', port: 20_004, rule: 'reject with tcp reset', expected: CLOSED },
  // The default of `reject` and of iptables REJECT; Linux maps it to ECONNREFUSED.
  {
    name: 'reject with icmpx port-unreachable',
    port: 20_005,
    rule: 'reject with icmpx port-unreachable',
    expected: CLOSED,
  },
  {
    name: 'reject with icmpx host-unreachable',
    port: 20_006,
    rule: 'reject with icmpx host-unreachable',
    expected: filtered('host-unreach'),
  },
  {
    name: 'listener behind random SYN loss',
    port: 20_007,
    listen: true,
    random: true,
    rule: `tcp flags & (syn | ack) == syn numgen random mod 100 < ${CLIENT_SYN_LOSS_PERCENT} drop`,
    expected: OPEN,
  },
];

/** IPv4 rows: ICMP codes that only ICMPv4 has, and admin-prohibited as v4 reports it. */
const V4: readonly VerdictRow[] = [
  // icmpx admin-prohibited is ICMP code 13 (communication administratively prohibited): EHOSTUNREACH.
  {
    name: 'reject with icmpx admin-prohibited',
    port: 20_010,
    rule: 'reject with icmpx admin-prohibited',
    expected: filtered('host-unreach'),
  },
  {
    name: 'reject with icmp admin-prohibited',
    port: 20_011,
    rule: 'reject with icmp admin-prohibited',
    expected: filtered('host-unreach'),
  },
  {
    name: 'reject with icmp host-prohibited',
    port: 20_012,
    rule: 'reject with icmp host-prohibited',
    expected: filtered('host-unreach'),
  },
  {
    name: 'reject with icmp net-unreachable',
    port: 20_013,
    rule: 'reject with icmp net-unreachable',
    expected: filtered('net-unreach'),
  },
  {
    name: 'reject with icmp net-prohibited',
    port: 20_014,
    rule: 'reject with icmp net-prohibited',
    expected: filtered('net-unreach'),
  },
  {
    name: 'reject with icmpx no-route',
    port: 20_015,
    rule: 'reject with icmpx no-route',
    expected: filtered('net-unreach'),
  },
  {
    name: 'reject with icmp prot-unreachable',
    port: 20_016,
    rule: 'reject with icmp prot-unreachable',
    expected: filtered('proto-unreach'),
  },
  // Codes 7 (destination host unknown) and 8 (source host isolated) have no nft names.
  {
    name: 'reject with icmp code 7 (host unknown)',
    port: 20_017,
    rule: 'reject with icmp 7',
    expected: filtered('no-response'),
  },
  {
    name: 'reject with icmp code 8 (host isolated)',
    port: 20_018,
    rule: 'reject with icmp 8',
    expected: filtered('dest-unreach'),
  },
];

/** IPv6 rows: ICMPv6 codes, where admin-prohibited has its own errno (EACCES). */
const V6: readonly VerdictRow[] = [
  {
    name: 'reject with icmpx admin-prohibited',
    port: 20_010,
    rule: 'reject with icmpx admin-prohibited',
    expected: filtered('admin-prohibited'),
  },
  {
    name: 'reject with icmpv6 admin-prohibited',
    port: 20_011,
    rule: 'reject with icmpv6 admin-prohibited',
    expected: filtered('admin-prohibited'),
  },
  {
    name: 'reject with icmpv6 addr-unreachable',
    port: 20_012,
    rule: 'reject with icmpv6 addr-unreachable',
    expected: filtered('host-unreach'),
  },
  {
    name: 'reject with icmpv6 no-route',
    port: 20_013,
    rule: 'reject with icmpv6 no-route',
    expected: filtered('net-unreach'),
  },
  {
    name: 'reject with icmpv6 policy-fail',
    port: 20_014,
    rule: 'reject with icmpv6 policy-fail',
    expected: filtered('admin-prohibited'),
  },
  {
    name: 'reject with icmpx no-route',
    port: 20_015,
    rule: 'reject with icmpx no-route',
    expected: filtered('net-unreach'),
  },
  {
    name: 'reject with icmpv6 reject-route',
    port: 20_016,
    rule: 'reject with icmpv6 reject-route',
    expected: filtered('admin-prohibited'),
  },
];

/** Every row for `family`, in port order. */
export function verdictRows(family: 4 | 6): readonly VerdictRow[] {
  return [...COMMON, ...(family === 4 ? V4 : V6)].sort((a, b) => a.port - b.port);
}

/** The row called `name` in `family`. */
export function verdictRow(family: 4 | 6, name: string): VerdictRow {
  const row = verdictRows(family).find((r) => r.name === name);
  if (row === undefined) throw new Error(`no lab row "${name}" for IPv${family}`);
  return row;
}

/** Ports something must listen on in the client namespace (either family). */
export function listeningPorts(): number[] {
  return [...new Set([...verdictRows(4), ...verdictRows(6)].filter((r) => r.listen).map((r) => r.port))];
}

/** The client's ruleset: every row of both families in one `inet` table. */
export function clientRuleset(): string {
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    const nfproto = family === 4 ? 'ipv4' : 'ipv6';
    for (const row of verdictRows(family)) {
      if (row.rule !== undefined) lines.push(`    meta nfproto ${nfproto} tcp dport ${row.port} ${row.rule}`);
    }
  }
  return `table inet lab {
  chain input {
    type filter hook input priority 0; policy accept;
${lines.join('\n')}
  }
}`;
}

/** Name of the checker's counter of SYNs sent towards the probe ports. */
export const SYN_COUNTER = 'probe_syns';

/**
 * Names of the checker's sets of probe ports that a SYN-ACK has come from, per family, since the
 * ruleset was loaded: what the wire says, beside what the probe says (see `wireHandshakes`).
 */
export const SYN_ACK_SOURCES: Readonly<Record<4 | 6, string>> = { 4: 'synack_from4', 6: 'synack_from6' };

/**
 * The checker's ruleset: counts every SYN it sends to a probe port (before any loss, so it is
 * what the checker put on the wire), then drops `lossPercent` of them at random; and records
 * every probe port a SYN-ACK comes back from, before anything else sees it.
 */
export function checkerRuleset(lossPercent: number): string {
  const syn = `tcp dport ${PORT_RANGE.first}-${PORT_RANGE.last} tcp flags & (syn | ack) == syn`;
  const loss = lossPercent > 0 ? `    ${syn} numgen random mod 100 < ${lossPercent} drop` : '';
  const synAck = `tcp sport ${PORT_RANGE.first}-${PORT_RANGE.last} tcp flags & (syn | ack) == syn | ack`;
  const record = ([4, 6] as const)
    .map((f) => `    meta nfproto ipv${f} ${synAck} add @${SYN_ACK_SOURCES[f]} { tcp sport }`)
    .join('\n');
  const sets = ([4, 6] as const)
    .map((f) => `  set ${SYN_ACK_SOURCES[f]} {\n    type inet_service; flags dynamic;\n  }`)
    .join('\n');
  return `table inet lab {
  counter ${SYN_COUNTER} {
  }
${sets}
  chain output {
    type filter hook output priority 0; policy accept;
    ${syn} counter name ${SYN_COUNTER}
${loss}
  }
  chain input {
    type filter hook input priority -300; policy accept;
${record}
  }
}`;
}

/**
 * Makes the client answer every rejected SYN. Linux rate-limits ICMP errors per destination
 * (net.ipv4.icmp_ratelimit / net.ipv6.icmp.ratelimit, 1000 ms; IPv4 allows a burst of 6), so
 * a dozen rejects at once would otherwise go partly unanswered: a real effect, measured in
 * the benchmark, but not what the per-row tests are about.
 */
export const UNLIMITED_ICMP: Readonly<Record<string, number>> = {
  'net.ipv4.icmp_ratelimit': 0,
  'net.ipv6.icmp.ratelimit': 0,
};

/**
 * Makes the checker retransmit SYNs the classic way: 1 s, then doubling. Recent kernels
 * (this lab's among them) default to `tcp_syn_linear_timeouts = 4`, four retransmits 1 s
 * apart, which sends more SYNs and so hides how few a kernel without it sends. The probe's
 * schedule must hold on either; the lab proves it on the harder one.
 */
export const CLASSIC_SYN_BACKOFF: Readonly<Record<string, number>> = { 'net.ipv4.tcp_syn_linear_timeouts': 0 };

/**
 * Applies sysctls such as `UNLIMITED_ICMP` to one side of the lab. A kernel without one of them
 * already behaves as asked (older kernels have no linear SYN timeouts), so it is left out.
 */
export async function applySysctls(side: LabSide, values: Readonly<Record<string, number>>): Promise<void> {
  for (const [name, value] of Object.entries(values)) await side.sysctl(name, value);
}

/**
 * Linux's default ICMP error rate limits (ms per error per destination, after a burst), which
 * `UNLIMITED_ICMP` turns off: the rate-limit lab and benchmark put them back.
 */
export const KERNEL_ICMP_LIMITS: Readonly<Record<string, number>> = {
  'net.ipv4.icmp_ratelimit': 1000,
  'net.ipv6.icmp.ratelimit': 1000,
};

/** Ten client ports rejected alike, for checks that meet the client's ICMP rate limit. */
export interface RejectBlock {
  readonly name: string;
  readonly ports: readonly number[];
  /** The client's nftables statement after `tcp dport <first>-<last>`. */
  readonly rule: string;
  readonly expected: Readonly<Record<4 | 6, Verdict>>;
}

const tenFrom = (first: number): number[] => Array.from({ length: 10 }, (_, i) => first + i);

/** The two rejects every firewall defaults to: port-unreachable (iptables, nft) and admin-prohibited (firewalld). */
export const REJECT_BLOCKS: readonly RejectBlock[] = [
  {
    name: 'reject with icmpx port-unreachable',
    ports: tenFrom(20_100),
    rule: 'reject with icmpx port-unreachable',
    expected: { 4: CLOSED, 6: CLOSED },
  },
  {
    name: 'reject with icmpx admin-prohibited',
    ports: tenFrom(20_110),
    rule: 'reject with icmpx admin-prohibited',
    expected: { 4: filtered('host-unreach'), 6: filtered('admin-prohibited') },
  },
];

/** The block called `name`. */
export function rejectBlock(name: string): RejectBlock {
  const block = REJECT_BLOCKS.find((b) => b.name === name);
  if (block === undefined) throw new Error(`no reject block "${name}"`);
  return block;
}

/** The client's table for `REJECT_BLOCKS`, beside `clientRuleset()`'s. */
export function rejectBlocksRuleset(): string {
  const lines = REJECT_BLOCKS.map((b) => `    tcp dport ${b.ports[0]}-${b.ports[b.ports.length - 1]} ${b.rule}`);
  return `table inet ratelimit {
  chain input {
    type filter hook input priority 0; policy accept;
${lines.join('\n')}
  }
}`;
}
