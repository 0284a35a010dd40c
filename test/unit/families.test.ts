import { describe, expect, it } from 'vitest';
import { checkFamilies } from '../../functions/client/families.ts';
import { NO_DUAL_STACK_ENDPOINT, NO_IPV6_CALLER } from '../../functions/contract/families.ts';
import type { CheckResponse, IpResponse } from '../../functions/contract/wire.ts';

const V4 = 'http://v4.test';
const DUAL = 'http://dual.test';
const egress = { fixed: false, addresses: [], ipv6: true };
const endpoints = { ipv4: V4, dualStack: DUAL };

function checkBody(ip: string, family: 4 | 6, state: 'open' | 'closed'): CheckResponse {
  const reason = state === 'open' ? 'syn-ack' : 'conn-refused';
  return { ip, family, checkedFrom: 'lab', timeoutMs: 1000, egress, results: [{ port: 22, state, reason, rttMs: 1 }] };
}

/** A fetch answering per base URL as a caller with (or without) IPv6 would be answered; records every call. */
function network(families: { v4: 4; dual: 4 | 6 } | 'dual-down'): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const doFetch = (async (input: RequestInfo | URL) => {
    const url = String(input);
    calls.push(url);
    if (url.startsWith(DUAL) && families === 'dual-down') throw new TypeError('fetch failed');
    const family = url.startsWith(DUAL) && families !== 'dual-down' ? families.dual : 4;
    const ip = family === 6 ? '2001:db8::7' : '198.18.0.7';
    const body: IpResponse | CheckResponse = url.includes('/ip')
      ? {
          ip,
          family,
          reverseDns: null,
          egress,
          endpoints,
          asn: null,
          org: null,
          country: null,
          networkKind: null,
          dataDate: null,
        }
      : checkBody(ip, family, family === 4 ? 'open' : 'closed');
    return new Response(JSON.stringify(body), { status: 200, headers: { ratelimit: '"minute";r=29;t=60' } });
  }) as typeof fetch;
  return { fetch: doFetch, calls };
}

describe('checkFamilies', () => {
  it('checks IPv4 and IPv6 through their own endpoints and diagnoses what differs', async () => {
    const net = network({ v4: 4, dual: 6 });
    const view = await checkFamilies(endpoints, [22], V4, net.fetch);
    expect(view.v4).toMatchObject({ kind: 'checked', check: { family: 4 } });
    expect(view.v6).toMatchObject({ kind: 'checked', check: { family: 6, ip: '2001:db8::7' } });
    expect(view.notes).toEqual([expect.stringContaining('22/tcp open over IPv4, closed over IPv6')]);
  });

  it('tells a caller without IPv6 so, without charging a second check on the dual-stack endpoint', async () => {
    const net = network({ v4: 4, dual: 4 });
    const view = await checkFamilies(endpoints, [22], V4, net.fetch);
    expect(view.v6).toEqual({ kind: 'absent', why: 'no-ipv6', reason: NO_IPV6_CALLER });
    expect(net.calls.filter((url) => url.startsWith(`${DUAL}/check`))).toEqual([]);
    expect(view.notes).toEqual([]);
  });

  it('says why IPv6 is not checked when the deployment has one endpoint', async () => {
    const net = network({ v4: 4, dual: 4 });
    const view = await checkFamilies({ ipv4: V4, dualStack: null }, [22], V4, net.fetch);
    expect(view.v6).toEqual({ kind: 'absent', why: 'no-endpoint', reason: NO_DUAL_STACK_ENDPOINT });
    expect(net.calls.every((url) => url.startsWith(V4))).toBe(true);
  });

  it('reports an unreachable dual-stack endpoint as a failure, not as no IPv6', async () => {
    const view = await checkFamilies(endpoints, [22], V4, network('dual-down').fetch);
    expect(view.v6.kind).toBe('failed');
    expect(view.v4.kind).toBe('checked');
  });
});
