import { describe, expect, it } from 'vitest';
import { readFirewall } from '../../functions/cli/doctor.ts';
import { firewallStep } from '../../functions/cli/doctor-steps.ts';
import { judgeNftRuleset } from '../../functions/cli/nft-judge.ts';

/** The cases a namespace cannot easily hold (test/lab/doctor-firewall.test.ts loads the rest for real), in nft's JSON shape. */
const PACKET = { port: 8080, protocol: 'tcp', family: 4 } as const;
const ruleset = (...items: unknown[]): string =>
  JSON.stringify({ nftables: [{ metainfo: { json_schema_version: 1 } }, ...items] });
const chain = (name: string, hook: string, extra: Record<string, unknown> = {}) => ({
  chain: { family: 'inet', table: 't', name, handle: 1, type: 'filter', hook, prio: 0, policy: 'accept', ...extra },
});
const rule = (chainName: string, handle: number, ...expr: unknown[]) => ({
  rule: { family: 'inet', table: 't', chain: chainName, handle, expr },
});
const dport = (right: unknown) => ({
  match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right },
});

describe('judgeNftRuleset', () => {
  it('will not judge an ingress chain with rules (it belongs to one device)', () => {
    const judged = judgeNftRuleset(ruleset(chain('in', 'ingress'), rule('in', 2, dport(8080), { drop: null })), PACKET);
    expect(judged).toMatchObject({ kind: 'unknown', why: expect.stringContaining("filters one device's ingress") });
  });

  it('will not judge a NAT chain on the way in', () => {
    const nat = chain('pre', 'prerouting', { type: 'nat', prio: -100 });
    const judged = judgeNftRuleset(ruleset(nat, rule('pre', 3, dport(8080), { dnat: { addr: '192.0.2.9' } })), PACKET);
    expect(judged).toMatchObject({ kind: 'unknown', why: expect.stringContaining('rewrites addresses (NAT)') });
  });

  it("will not judge iptables-nft's compatibility rules", () => {
    const judged = judgeNftRuleset(
      ruleset(chain('input', 'input'), rule('input', 4, { xt: { type: 'match', name: 'conntrack' } })),
      PACKET,
    );
    expect(judged).toMatchObject({ kind: 'unknown', why: expect.stringContaining('iptables-nft compatibility rule') });
  });

  it('ignores chains of the other family and of other hooks', () => {
    const other = {
      chain: {
        family: 'ip6',
        table: 't6',
        name: 'input',
        handle: 1,
        type: 'filter',
        hook: 'input',
        prio: 0,
        policy: 'drop',
      },
    };
    const out = chain('out', 'output', { policy: 'drop' });
    expect(judgeNftRuleset(ruleset(other, out), PACKET)).toEqual({
      kind: 'accepted',
      by: 'no nftables chain on the input path',
    });
  });

  it('says so when nft printed something else', () => {
    expect(judgeNftRuleset('Error: Operation not permitted', PACKET)).toMatchObject({ kind: 'unknown' });
  });
});

describe('readFirewall', () => {
  it('names the command to read the firewall by hand on macOS and Windows, where it is not read yet', () => {
    const mac = readFirewall(
      { port: 8080, protocol: 'tcp', family: 4 },
      () => undefined,
      () => undefined,
      false,
      'darwin',
    );
    expect(firewallStep({ port: 8080, protocol: 'tcp' }, mac)).toMatchObject({
      status: 'unknown',
      evidence: 'The host firewall could not be read: the doctor reads the host firewall on Linux only so far.',
      advice: expect.stringContaining('pfctl -sr'),
    });
    const windows = readFirewall(
      { port: 8080, protocol: 'tcp', family: 4 },
      () => undefined,
      () => undefined,
      false,
      'win32',
    );
    expect(firewallStep({ port: 8080, protocol: 'tcp' }, windows).advice).toContain('netsh advfirewall');
  });

  it('will not judge nftables alone while legacy iptables tables are loaded', () => {
    const judged = readFirewall(
      { port: 8080, protocol: 'tcp', family: 4 },
      () => ruleset(),
      (path) => (path === '/proc/net/ip_tables_names' ? 'filter\nnat\n' : undefined),
      true,
      'linux',
    );
    expect(judged).toMatchObject({
      kind: 'unknown',
      why: expect.stringContaining('legacy iptables tables are loaded (filter, nat)'),
    });
  });
});
