/**
 * Benchmark section: the UDP lab (test/lab/udp.test.ts) as a contest between Dialback's UDP
 * probe and `nmap -sU`, both sending Dialback's payloads, on the same client services and
 * nftables rules. Per scenario: how often each tool read the expected verdict, its median, mean and p95
 * time, and the datagrams it sent per port (an nftables counter on the checker's output).
 * Needs root; without it, says why and makes no table.
 */
import { applySysctls } from '../support/lab/rules.ts';
import {
  DATAGRAM_COUNTER,
  nmapUdpScan,
  startUdpLab,
  UDP_ROWS,
  type UdpLab,
  type UdpRow,
  type UdpVerdict,
  udpClientRuleset,
} from '../support/lab/udp-lab.ts';
import {
  contestRows,
  counting,
  type Figures,
  labUnsupported,
  mapLimit,
  merge,
  probeFigures,
  repeat,
  same,
} from './contest.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'UDP verdicts: Dialback and nmap -sU with the same payloads';

const COMMAND = 'npm run bench -- udp   # as root, with nft, nmap, ip and taskset';

const CLEAN_ROUNDS = 3;
const LOSS_TRIALS = 200;
/** Nmap runs per loss rate: each is a process, so fewer than the probe's trials. */
const NMAP_LOSS_RUNS = 40;
const CONCURRENCY = 8;
const KERNEL_ICMP_RATELIMIT_MS = 1000;
/** Ten ports nothing listens on, for the ICMP rate-limit scenario. */
const CLOSED_TEN = Array.from({ length: 10 }, (_, i) => 20_110 + i);
const MULTI_ROUNDS = 10;
/**
 * Pause between two checks of the rate-limit scenario, for both tools: the client's ICMP budget
 * refills between checks, as between a person's (the TCP rate-limit lab does the same).
 */
const REFILL_MS = 5000;

/** Dialback's UDP probe, `trials` runs over `ports` together; the shipped schedule and deadline. */
function dialback(
  lab: UdpLab,
  family: 4 | 6,
  ports: readonly number[],
  expected: (port: number) => UdpVerdict,
  trials: number,
  concurrency: number,
  pauseMs?: number,
): Promise<Figures> {
  const job = { family, ports, trials, concurrency, protocol: 'udp' as const };
  return probeFigures(lab.pair, DATAGRAM_COUNTER, pauseMs === undefined ? job : { ...job, pauseMs }, expected);
}

/** `nmap -sU` once per item of `runs` (each a port list), `CONCURRENCY` at a time. */
async function nmap(
  lab: UdpLab,
  family: 4 | 6,
  runs: ReadonlyArray<readonly number[]>,
  expected: (port: number) => UdpVerdict,
  concurrency = CONCURRENCY,
  pauseMs = 0,
): Promise<Figures> {
  const address = lab.pair.client.address(family);
  let started = 0;
  const { result, sent } = await counting(lab.pair, DATAGRAM_COUNTER, () =>
    mapLimit(runs, concurrency, async (ports) => {
      if (started++ > 0 && pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      return nmapUdpScan(lab.pair.checker, lab.nmapDataDir, address, family, ports);
    }),
  );
  const outcomes = result.flatMap((run, i) =>
    (runs[i] ?? []).map((port) => ({ correct: same(run.verdicts.get(port), expected(port)), ms: run.elapsedMs })),
  );
  return { outcomes, sent, ports: runs.reduce((n, r) => n + r.length, 0) };
}

function row(port: number): UdpRow {
  const found = UDP_ROWS.find((r) => r.port === port);
  if (found === undefined) throw new Error(`no UDP row on ${port}`);
  return found;
}

/** Runs the section; returns its Markdown. */
export async function run(): Promise<string> {
  const unsupported = await labUnsupported('UDP lab', COMMAND);
  if (unsupported !== undefined) return unsupported;
  const lab = await startUdpLab('udpbench');
  const { pair } = lab;
  try {
    const { lines, add } = contestRows();
    const dialbackExpects = (port: number): UdpVerdict => row(port).expected;
    const nmapExpects = (port: number): UdpVerdict => row(port).nmap?.verdict ?? row(port).expected;
    const closed: UdpVerdict = { state: 'closed', reason: 'port-unreach' };
    const answering = UDP_ROWS.filter((r) => r.service === 'echo').map((r) => r.port);

    for (const family of [4, 6] as const) {
      const ports = UDP_ROWS.map((r) => r.port);
      add(
        `clean: every row (${ports.length} rows × ${CLEAN_ROUNDS}, one port per run)`,
        family,
        await (async () => {
          const parts: Figures[] = [];
          for (const port of ports) parts.push(await dialback(lab, family, [port], dialbackExpects, CLEAN_ROUNDS, 1));
          return merge(parts);
        })(),
        await nmap(
          lab,
          family,
          repeat(ports, CLEAN_ROUNDS).map((p) => [p]),
          nmapExpects,
        ),
      );
    }
    for (const loss of [30, 50]) {
      await pair.client.nft(udpClientRuleset(loss));
      for (const family of [4, 6] as const) {
        add(
          `${loss}% loss on the way in: answering port`,
          family,
          await dialback(lab, family, answering, dialbackExpects, LOSS_TRIALS, CONCURRENCY),
          await nmap(lab, family, repeat([answering], NMAP_LOSS_RUNS), nmapExpects),
        );
      }
    }
    await pair.client.nft(udpClientRuleset());
    // Linux answers at most ~1 ICMP error per second per destination after a burst (IPv4: 6).
    await applySysctls(pair.client, {
      'net.ipv4.icmp_ratelimit': KERNEL_ICMP_RATELIMIT_MS,
      'net.ipv6.icmp.ratelimit': KERNEL_ICMP_RATELIMIT_MS,
    });
    for (const family of [4, 6] as const) {
      add(
        `10 closed ports at once, client's default ICMP rate limit (${MULTI_ROUNDS} checks, ${REFILL_MS / 1000} s apart)`,
        family,
        await dialback(lab, family, CLOSED_TEN, () => closed, MULTI_ROUNDS, 1, REFILL_MS),
        await nmap(lab, family, repeat([CLOSED_TEN], MULTI_ROUNDS), () => closed, 1, REFILL_MS),
      );
    }
    const nmapVersion = `Nmap ${/Nmap version (\S+)/.exec(await pair.checker.exec(['nmap', '--version']))?.[1] ?? ''}`;
    return [
      `Reproduce: \`${COMMAND}\`.`,
      '',
      '- The UDP lab (test/support/lab/udp-lab.ts): checker and client namespaces on one veth pair; the',
      '  client runs an answering service, a silent one, a DNS server that answers only DNS queries (on 53),',
      '  and nftables rows (drop, reject, icmpx admin-prohibited, icmpx host-unreachable). Its ICMP rate',
      "  limit is off except in the last scenario, which keeps Linux's default.",
      "- Loss is on the client's ingress (a drop on the checker's own output makes send() fail with EPERM,",
      '  a local error, not loss). Datagrams are counted on the checker before any loss, per port asked about.',
      '- Dialback: its UDP probe with the shipped schedule (up to 8 datagrams, 250 ms apart) and 3 s deadline,',
      `  run in the checker (${CONCURRENCY} at once under loss); its time is the probe's own.`,
      `- ${nmapVersion}: \`nmap -sU -Pn -n --reason --datadir <Dialback's payloads>\`, default timing, its`,
      '  own `runstats` elapsed time; one port per run except the 10-port scenario.',
      '- "Correct" is the expected verdict of each tool: the same for every row but icmpx host-unreachable,',
      '  which nmap (raw ICMP) reads `filtered / host-unreach` and Dialback `open|filtered` (a soft ICMP',
      '  error Linux reports on a UDP socket only with IP_RECVERR, which node:dgram cannot set).',
      '',
      '| scenario | family | Dialback correct | nmap -sU correct | Dialback median / mean / p95 ms | nmap median / mean / p95 ms | Dialback datagrams per port | nmap datagrams per port |',
      '|---|---|---|---|---|---|---|---|',
      ...lines,
    ].join('\n');
  } finally {
    await lab.destroy();
  }
}
