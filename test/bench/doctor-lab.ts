/**
 * Benchmark section: `dialback doctor` in the router lab (test/support/lab/router-lab.ts, Debian's
 * miniupnpd), per scenario: the wall time of the whole command (Node's start, reading this
 * machine, the router's questions, the check from outside with its proof), median and worst,
 * including the router that answers none of the protocols, where the doctor spends its whole
 * router budget. The issue's bound: under 5 s plus the check's own time.
 * Needs root; without it, says why and makes no table.
 */
import { runCliIn } from '../support/lab/dialback.ts';
import {
  buildRouterLab,
  type ChainName,
  ELSEWHERE,
  GATEWAY,
  HOST_ADDRESS,
  type RouterLab,
} from '../support/lab/router-lab.ts';
import { missing } from '../support/requirements.ts';

/** Section title in BENCHMARKS.md. */
export const title = 'Doctor in the router lab (real miniupnpd)';

const COMMAND = 'npm run bench -- doctor   # as root, with nft, ip, miniupnpd-nftables and miniupnpc';

const RUNS = 5;

interface Scenario {
  readonly name: string;
  readonly chain: ChainName;
  /** A forward to set up first with miniupnpc, to this LAN address. */
  readonly forwardTo?: string;
  readonly extra?: readonly string[];
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'open through a forward', chain: 'plain', forwardTo: HOST_ADDRESS },
  { name: 'no forward', chain: 'plain' },
  { name: 'forward to the wrong LAN address', chain: 'plain', forwardTo: ELSEWHERE },
  { name: '--map (forward, check, remove)', chain: 'plain', extra: ['--map'] },
  { name: 'carrier-grade NAT', chain: 'cgnat' },
  { name: 'double NAT', chain: 'double' },
  { name: 'router speaks none of the protocols', chain: 'silent' },
];

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

async function timeScenario(
  lab: RouterLab,
  scenario: Scenario,
  port: number,
): Promise<{ ms: number[]; verdict: string }> {
  const { host, api } = lab.chains[scenario.chain];
  const inHost = {
    exec: (args: readonly string[], input?: string, ms?: number) => lab.exec(host, args, input, ms ?? 30_000),
  };
  const ms: number[] = [];
  let verdict = '';
  for (let run = 0; run < RUNS; run++) {
    const p = port + run;
    if (scenario.forwardTo !== undefined) {
      const desc = `http://${GATEWAY}:5000/rootDesc.xml`;
      await lab.exec(host, ['upnpc', '-u', desc, '-a', scenario.forwardTo, String(p), String(p), 'TCP']);
    }
    const started = performance.now();
    const { out } = await runCliIn(inHost, ['doctor', String(p), '--api', api, '--json', ...(scenario.extra ?? [])]);
    ms.push(performance.now() - started);
    const report = JSON.parse(out) as { verdict: { status: string; step?: string } };
    verdict = `${report.verdict.status}${report.verdict.step === undefined ? '' : ` at ${report.verdict.step}`}`;
  }
  return { ms, verdict };
}

/** Runs every scenario `RUNS` times, one run at a time, and returns the Markdown table. */
export async function run(): Promise<string> {
  const unsupported = await missing(['root', 'ip', 'nft', 'miniupnpd', 'upnpc']);
  if (unsupported !== undefined) return `Not run: the router lab ${unsupported}. Reproduce with \`${COMMAND}\`.`;
  const lab = await buildRouterLab('bdoc');
  try {
    await lab.start();
    const rows: string[] = [];
    for (const [i, scenario] of SCENARIOS.entries()) {
      const { ms, verdict } = await timeScenario(lab, scenario, 42_000 + i * 100);
      rows.push(
        `| ${scenario.name} | ${verdict} | ${(median(ms) / 1000).toFixed(2)} | ${(Math.max(...ms) / 1000).toFixed(2)} |`,
      );
    }
    return [
      `Wall time of \`dialback doctor PORT --json\` (the repo CLI under tsx, so Node's start and TypeScript loading are in it), ${RUNS} runs per scenario, one at a time; the checker's probe deadline is 1.5 s. Reproduce with \`${COMMAND}\`.`,
      '',
      '| scenario | verdict | median s | worst s |',
      '|---|---|---:|---:|',
      ...rows,
    ].join('\n');
  } finally {
    await lab.destroy();
  }
}
