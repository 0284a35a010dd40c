/**
 * The page's verdict cards: the advice and explanations mark commands with backticks, which the
 * page shows as code (never as literal backticks), and a `dialback …` command links to the CLI
 * this deployment serves.
 */
import { describe, expect, it } from 'vitest';
import type { PortResult, UdpPortResult } from '../../functions/contract/wire.ts';
import { doctorHint, verdicts, withCode } from '../../functions/web/verdict-view.ts';

describe('withCode', () => {
  it('shows a backticked command as code, escaped, and links a dialback command to /dialback.mjs', () => {
    expect(withCode('run `dialback listen --udp PORT` here').value).toBe(
      'run <a href="/dialback.mjs" title="The dialback CLI: one file, run it with node dialback.mjs"><code>dialback listen --udp PORT</code></a> here',
    );
    expect(withCode('see `ss -ltn` and `<b>`').value).toBe('see <code>ss -ltn</code> and <code>&lt;b&gt;</code>');
    expect(withCode('no code here').value).toBe('no code here');
  });
});

describe('verdict cards', () => {
  const results: (PortResult | UdpPortResult)[] = [
    { port: 51820, protocol: 'udp', state: 'open|filtered', reason: 'no-response', rttMs: null },
    { port: 53, protocol: 'udp', state: 'closed', reason: 'port-unreach', rttMs: 1 },
    { port: 22, state: 'filtered', reason: 'no-response', rttMs: null, hint: 'icmp-rate-limit' },
    { port: 80, state: 'closed', reason: 'conn-refused', rttMs: 1 },
  ];

  it('never shows a literal backtick, in explanations, hints or advice', () => {
    const markup = verdicts(results as PortResult[])
      .map((card) => card.value)
      .join('\n');
    expect(markup).not.toContain('`');
    // The open|filtered explanation names the command that settles it, as code linked to the CLI.
    expect(markup).toContain('<a href="/dialback.mjs"');
  });
});

describe('doctorHint', () => {
  const base = 'https://api.example';
  it('gives the doctor command for the first port that is not open, with --udp for a UDP port', () => {
    const tcp = doctorHint(base, [
      { port: 443, state: 'open', reason: 'syn-ack', rttMs: 1 },
      { port: 25565, state: 'filtered', reason: 'no-response', rttMs: null },
    ]).value;
    expect(tcp).toContain(
      '<code>curl -sO https://api.example/dialback.mjs &amp;&amp; node dialback.mjs doctor 25565</code>',
    );
    const udp = doctorHint(base, [
      { port: 51820, protocol: 'udp', state: 'open|filtered', reason: 'no-response', rttMs: null },
    ] as unknown as PortResult[]).value;
    expect(udp).toContain('node dialback.mjs doctor 51820 --udp</code>');
  });

  it('says nothing when every port is open, or only untestable ones are left', () => {
    expect(doctorHint(base, [{ port: 443, state: 'open', reason: 'syn-ack', rttMs: 1 }]).value).toBe('');
    expect(doctorHint(base, [{ port: 25, state: 'untestable', reason: 'blocked-at-source', rttMs: null }]).value).toBe(
      '',
    );
  });
});
