/**
 * The doctor's host-firewall step against real nftables rulesets loaded in a namespace: what
 * `nft -j list ruleset` prints there is judged for an inbound connection to PORT, and each
 * judgement is held against what the namespace's kernel actually does with a connect() from
 * outside it (nothing listens on PORT, so "accepted" reads as a RST, "dropped" as silence and
 * "rejected" as the ICMP error the rule sends).
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFirewall } from '../../functions/cli/doctor.ts';
import { firewallStep } from '../../functions/cli/doctor-steps.ts';
import type { FirewallJudgement } from '../../functions/cli/nft-judge.ts';
import { createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';

const skip = await labSkipReason('doctor firewall lab tests');
const PORT = 47_123;
/** Long enough for a RST or an ICMP error over a veth, short enough for silence to be read as a drop. */
const SILENCE_MS = 1000;

/** What a connect() from the root namespace to the namespace's PORT ran into. */
async function connectOutcome(host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: PORT });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('silence');
    }, SILENCE_MS);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? 'error');
    });
  });
}

/** What the kernel's behaviour says the ruleset did, for each judgement the doctor can make. */
const KERNEL_SAYS: Readonly<Record<string, FirewallJudgement['kind']>> = {
  ECONNREFUSED: 'accepted',
  silence: 'dropped',
  EHOSTUNREACH: 'rejected',
  EACCES: 'rejected',
};

const table = (body: string, policy = 'accept'): string => `table inet fw {
  chain input {
    type filter hook input priority 0; policy ${policy};
    ct state established,related accept
    iifname "lo" accept
    meta l4proto icmp accept
${body}
  }
}`;

const SCENARIOS: ReadonlyArray<{ name: string; ruleset: string; kind: FirewallJudgement['kind']; by: RegExp }> = [
  {
    name: 'an accept rule for the port under policy drop',
    ruleset: table(`    tcp dport 22 accept\n    tcp dport ${PORT} counter accept`, 'drop'),
    kind: 'accepted',
    by: new RegExp(`chain inet fw input, rule handle \\d+ \\(tcp dport ${PORT} counter accept\\)`),
  },
  {
    name: 'a drop rule for the port',
    ruleset: table(`    udp dport ${PORT} accept\n    tcp dport { 80, ${PORT} } drop`),
    kind: 'dropped',
    by: new RegExp(`rule handle \\d+ \\(tcp dport \\{ 80, ${PORT} \\} drop\\)`),
  },
  {
    name: 'a reject rule for a range holding the port',
    ruleset: table(`    tcp dport ${PORT - 3}-${PORT + 3} reject with icmpx type admin-prohibited`),
    kind: 'rejected',
    by: new RegExp(`rule handle \\d+ \\(tcp dport ${PORT - 3}-${PORT + 3} reject\\)`),
  },
  {
    name: 'policy drop with no rule for the port',
    ruleset: table('    tcp dport { 22, 443 } accept\n    tcp dport != 22 counter', 'drop'),
    kind: 'dropped',
    by: /the policy of chain inet fw input \(policy drop\)/,
  },
  {
    name: 'a second base chain that drops after the first accepts',
    ruleset: `${table(`    tcp dport ${PORT} accept`)}
table ip late {
  chain input { type filter hook input priority 10; policy accept; tcp dport ${PORT} drop; }
}`,
    kind: 'dropped',
    by: /chain ip late input, rule handle \d+ \(tcp dport 47123 drop\)/,
  },
];

describe.runIf(skip === undefined)('doctor firewall step against real nftables rules', () => {
  let link: HostLink;
  /** Runs a command inside the namespace, synchronously, as the doctor runs its own. */
  const inNs = (command: string, args: readonly string[]): string | undefined => {
    try {
      return execFileSync('ip', ['netns', 'exec', link.ns, command, ...args], { encoding: 'utf8', timeout: 5000 });
    } catch {
      return undefined;
    }
  };
  const judge = (family: 4 | 6 = 4) =>
    readFirewall({ port: PORT, protocol: 'tcp', family }, inNs, (path) => inNs('cat', [path]), true);

  beforeAll(async () => {
    link = await createHostLink('doctorfw');
  }, 60_000);

  afterAll(async () => {
    await link?.destroy();
  });

  for (const scenario of SCENARIOS) {
    it(`judges ${scenario.kind} for ${scenario.name}, as the kernel does`, async () => {
      await link.nft(scenario.ruleset);
      const judged = judge();
      expect(judged).toMatchObject({ kind: scenario.kind, by: expect.stringMatching(scenario.by) });
      expect(KERNEL_SAYS[await connectOutcome(link.v4)]).toBe(scenario.kind);
    });
  }

  it('judges the IPv6 path by the ip6 and inet tables', async () => {
    await link.nft(`table ip6 six {
  chain input { type filter hook input priority 0; policy drop; }
}
table ip four {
  chain input { type filter hook input priority 0; policy accept; }
}`);
    expect(judge(6)).toMatchObject({ kind: 'dropped', by: 'the policy of chain ip6 six input (policy drop)' });
    expect(await connectOutcome(link.v6)).toBe('silence');
    expect(judge(4)).toMatchObject({ kind: 'accepted' });
    expect(await connectOutcome(link.v4)).toBe('ECONNREFUSED');
  });

  it('judges an empty ruleset accepted, and says no chain is on the input path', async () => {
    await link.nft('');
    expect(judge()).toEqual({ kind: 'accepted', by: 'no nftables chain on the input path' });
    expect(await connectOutcome(link.v4)).toBe('ECONNREFUSED');
  });

  it.each([
    [
      'a jump to another chain',
      `    tcp dport ${PORT} jump other`,
      /jumps to chain other, which the doctor does not follow/,
    ],
    ['a named set', `    tcp dport @allowed accept`, /matches the named set @allowed/],
    ['a mark', '    meta mark 0x1 drop', /matches meta mark/],
    ['a source address', '    ip saddr 198.18.0.0/15 drop', /matches ip saddr, which depends on who connects/],
    ['a rate limit', '    limit rate 5/second accept', /"limit" statement/],
  ])('will not judge %s: unknown, with the command to read it', async (_, rule, why) => {
    await link.nft(`table inet fw {
  set allowed { type inet_service; elements = { ${PORT} } }
  chain other { tcp dport ${PORT} accept; }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
${rule}
  }
}`);
    const judged = judge();
    expect(judged).toMatchObject({ kind: 'unknown', why: expect.stringMatching(why) });
    const step = firewallStep({ port: PORT, protocol: 'tcp' }, judged);
    expect(step.status).toBe('unknown');
    expect(step.advice).toContain('`sudo nft list ruleset`');
  });

  it('leaves rules for other protocols, ports and loopback aside', async () => {
    await link.nft(table(`    udp dport ${PORT} drop\n    tcp dport ${PORT + 1} drop\n    ip protocol icmp drop`));
    expect(judge()).toMatchObject({ kind: 'accepted', by: 'the policy of chain inet fw input (policy accept)' });
  });

  it('says it could not read the firewall without root, naming the command', () => {
    const judged = readFirewall({ port: PORT, protocol: 'tcp', family: 4 }, inNs, () => undefined, false);
    expect(firewallStep({ port: PORT, protocol: 'tcp' }, judged)).toMatchObject({
      status: 'unknown',
      evidence: 'The host firewall could not be read: reading nftables needs root.',
    });
  });
});
