import { describe, expect, it } from 'vitest';
import { type BothAnswers, bothExitCode, checkBoth, renderBoth } from '../../functions/cli/both.ts';
import { createClient, DialbackError } from '../../functions/client/dialback-client.ts';
import { familyDifference } from '../../functions/contract/verdict-text.ts';
import type { CheckResponse, TcpPortResult as PortResult } from '../../functions/contract/wire.ts';

function check(ip: string, family: 4 | 6, results: PortResult[]): CheckResponse {
  return {
    ip,
    family,
    checkedFrom: 'lab',
    timeoutMs: 1000,
    egress: { fixed: false, addresses: [], ipv6: true },
    results,
  };
}

const open = (port: number): PortResult => ({ port, state: 'open', reason: 'syn-ack', rttMs: 1 });
const filtered = (port: number): PortResult => ({ port, state: 'filtered', reason: 'no-response', rttMs: null });

describe('familyDifference', () => {
  it('says nothing when both families agree', () => {
    expect(familyDifference(443, open(443), open(443))).toBeUndefined();
  });

  it('names the IPv6 firewall when only IPv6 is filtered', () => {
    expect(familyDifference(443, open(443), filtered(443))).toBe(
      "443/tcp open over IPv4, filtered over IPv6: your IPv6 firewall blocks it. IPv6 has no NAT or port forward; allow the port to this device in the router's IPv6 firewall.",
    );
  });

  it('says a deployment without IPv6 egress tested IPv4 only', () => {
    expect(familyDifference(22, open(22), { state: 'untestable', reason: 'no-ipv6-egress' })).toMatch(
      /cannot dial IPv6, so only IPv4 was tested/,
    );
  });
});

describe('renderBoth', () => {
  it('puts both families side by side with what differs', () => {
    const answers: BothAnswers = {
      v4: { ok: true, check: check('198.18.0.2', 4, [open(22), open(443)]) },
      v6: { ok: true, check: check('2001:db8::2', 6, [open(22), filtered(443)]) },
    };
    const text = renderBoth(answers, [22, 443]);
    expect(text).toMatch(/^PORT\s+IPv4 198\.18\.0\.2\s+IPv6 2001:db8::2$/m);
    expect(text).toMatch(/^22\/tcp\s+open\s+open$/m);
    expect(text).toMatch(/^443\/tcp\s+open\s+filtered$/m);
    expect(text).toContain('443/tcp open over IPv4, filtered over IPv6: your IPv6 firewall blocks it.');
    expect(text).not.toContain('22/tcp open over IPv4');
    expect(bothExitCode(answers)).toBe(1);
  });

  it('reports a family that could not reach the API', () => {
    const answers: BothAnswers = {
      v4: { ok: true, check: check('198.18.0.2', 4, [open(22)]) },
      v6: { ok: false, error: new Error('connect ENETUNREACH') },
    };
    expect(renderBoth(answers, [22])).toContain('IPv6: the API could not be reached over IPv6 (connect ENETUNREACH).');
    expect(bothExitCode(answers)).toBe(1);
  });
});

describe('checkBoth', () => {
  const respond = (body: CheckResponse | null, status = 200): typeof fetch =>
    (async () =>
      new Response(body === null ? '{"title":"t","status":429,"detail":"slow down"}' : JSON.stringify(body), {
        status,
        headers: { 'retry-after': '7' },
      })) as typeof fetch;

  it('treats an answer over the wrong family as no answer for that family', async () => {
    const v4 = createClient({ api: 'http://api.test', fetch: respond(check('198.18.0.2', 4, [open(22)])) });
    const answers = await checkBoth({ v4, v6: v4 }, [22]);
    expect(answers.v4.ok).toBe(true);
    expect(answers.v6.ok).toBe(false);
    expect(!answers.v6.ok && answers.v6.error.message).toBe('the API saw this request over IPv4');
  });

  it('throws a 429 from either family, since waiting is the only fix', async () => {
    const ok = createClient({ api: 'http://api.test', fetch: respond(check('198.18.0.2', 4, [open(22)])) });
    const limited = createClient({ api: 'http://api.test', fetch: respond(null, 429) });
    await expect(checkBoth({ v4: ok, v6: limited }, [22])).rejects.toBeInstanceOf(DialbackError);
  });
});
