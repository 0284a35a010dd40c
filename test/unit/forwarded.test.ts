import { describe, expect, it } from 'vitest';
import { clientAddress, parseProxyTrust } from '../../infra/local/forwarded.ts';

const LOCAL_PROXY = parseProxyTrust('127.0.0.1');

/** Node's rawHeaders: name, value, name, value… in arrival order. */
function raw(...pairs: Array<[string, string]>): string[] {
  return pairs.flat();
}

describe('parseProxyTrust', () => {
  it('takes addresses and ranges of both families, and the header the proxy writes', () => {
    const trust = parseProxyTrust(' 127.0.0.1, 10.0.0.0/8 ,::1,2001:db8::/32', 'Forwarded');
    expect(trust.header).toBe('forwarded');
    expect(trust.listed).toEqual(['127.0.0.1', '10.0.0.0/8', '::1', '2001:db8::/32']);
    expect(trust.proxies.check('10.200.1.1', 'ipv4')).toBe(true);
    expect(trust.proxies.check('11.0.0.1', 'ipv4')).toBe(false);
    expect(trust.proxies.check('2001:db8:5::1', 'ipv6')).toBe(true);
    expect(trust.proxies.check('127.0.0.2', 'ipv4')).toBe(false);
    expect(parseProxyTrust('::1').header).toBe('x-forwarded-for');
  });

  it.each([
    ['', /at least one address/],
    [',', /at least one address/],
    ['localhost', /"localhost"/],
    ['300.1.1.1', /"300.1.1.1"/],
    ['10.0.0.0/33', /"10.0.0.0\/33"/],
    ['10.0.0.0/', /"10.0.0.0\/"/],
    ['10.0.0.0/8/1', /"10.0.0.0\/8\/1"/],
    ['2001:db8::/129', /"2001:db8::\/129"/],
    ['127.0.0.1 10.0.0.1', /"127.0.0.1 10.0.0.1"/],
  ])('refuses %j, naming it', (list, message) => {
    expect(() => parseProxyTrust(list)).toThrow(message);
  });

  it('refuses a header no proxy writes for us', () => {
    expect(() => parseProxyTrust('127.0.0.1', 'x-real-ip')).toThrow(/x-forwarded-for or forwarded.*"x-real-ip"/);
  });
});

describe('clientAddress without trusted proxies', () => {
  it('is the socket peer, whatever a public or private peer writes in forwarding headers', () => {
    const headers = raw(['X-Forwarded-For', '198.51.100.1'], ['Forwarded', 'for=198.51.100.2']);
    expect(clientAddress('203.0.113.9', headers, undefined)).toEqual({ ok: true, address: '203.0.113.9' });
    expect(clientAddress('192.168.1.5', headers, undefined)).toEqual({ ok: true, address: '192.168.1.5' });
    expect(clientAddress('::ffff:203.0.113.9', [], undefined)).toEqual({ ok: true, address: '203.0.113.9' });
  });

  it('refuses a loopback peer that forwards for someone: checking it would check the proxy', () => {
    for (const [peer, header] of [
      ['127.0.0.1', 'X-Forwarded-For'],
      ['::1', 'forwarded'],
      ['::ffff:127.0.0.1', 'x-forwarded-for'],
    ] as const) {
      const answer = clientAddress(peer, raw([header, 'for=198.51.100.1, 198.51.100.1']), undefined);
      expect(answer).toMatchObject({ ok: false, problem: 'untrusted-proxy' });
      expect(answer.ok ? '' : answer.detail).toContain(`--trust-proxy ${peer.replace('::ffff:', '')}`);
    }
    expect(clientAddress('127.0.0.1', raw(['user-agent', 'curl']), undefined)).toEqual({
      ok: true,
      address: '127.0.0.1',
    });
  });

  it('also refuses a loopback peer that forwards when other proxies are trusted but not it', () => {
    const answer = clientAddress('127.0.0.1', raw(['x-forwarded-for', '198.51.100.1']), parseProxyTrust('10.0.0.1'));
    expect(answer).toMatchObject({ ok: false, problem: 'untrusted-proxy' });
  });
});

describe('clientAddress behind a trusted proxy', () => {
  it('takes the client the proxy names, and ignores headers from a peer that is not the proxy', () => {
    expect(clientAddress('127.0.0.1', raw(['x-forwarded-for', '203.0.113.9']), LOCAL_PROXY)).toEqual({
      ok: true,
      address: '203.0.113.9',
    });
    expect(clientAddress('198.51.100.4', raw(['x-forwarded-for', '203.0.113.9']), LOCAL_PROXY)).toEqual({
      ok: true,
      address: '198.51.100.4',
    });
  });

  it('reads the right-most untrusted hop: a client cannot choose the address by sending its own header', () => {
    // The client sent "198.51.100.66"; the proxy appended the peer it saw.
    const spoofed = raw(['x-forwarded-for', '198.51.100.66, 203.0.113.9']);
    expect(clientAddress('127.0.0.1', spoofed, LOCAL_PROXY)).toEqual({ ok: true, address: '203.0.113.9' });
    // A chain of trusted proxies is walked past; the first untrusted hop from the right wins.
    const chain = parseProxyTrust('127.0.0.1,10.0.0.0/8');
    const hops = raw(['x-forwarded-for', '198.51.100.66, 203.0.113.9, 10.1.2.3,10.9.9.9']);
    expect(clientAddress('127.0.0.1', hops, chain)).toEqual({ ok: true, address: '203.0.113.9' });
  });

  it('reads every line of the header in order, as one list', () => {
    const lines = raw(['X-Forwarded-For', '198.51.100.66'], ['x-forwarded-for', '203.0.113.9']);
    expect(clientAddress('127.0.0.1', lines, LOCAL_PROXY)).toEqual({ ok: true, address: '203.0.113.9' });
  });

  it('takes the left-most hop when every hop is a trusted proxy', () => {
    const trust = parseProxyTrust('127.0.0.1,10.0.0.0/8');
    expect(clientAddress('127.0.0.1', raw(['x-forwarded-for', '10.0.0.7, 10.0.0.8']), trust)).toEqual({
      ok: true,
      address: '10.0.0.7',
    });
  });

  it('accepts ports and brackets, and unwraps IPv4-mapped hops', () => {
    const hops: Array<[string, string]> = [
      ['203.0.113.9:4711', '203.0.113.9'],
      ['[2001:db8::9]:4711', '2001:db8::9'],
      ['[2001:db8::9]', '2001:db8::9'],
      ['2001:db8::9', '2001:db8::9'],
      ['::ffff:203.0.113.9', '203.0.113.9'],
      [' 203.0.113.9 ', '203.0.113.9'],
    ];
    for (const [hop, address] of hops) {
      expect(clientAddress('127.0.0.1', raw(['x-forwarded-for', hop]), LOCAL_PROXY)).toEqual({ ok: true, address });
    }
  });

  it('refuses a hop that names no address rather than skipping to one the client wrote', () => {
    for (const hop of ['unknown', '_hidden', '', '203.0.113.9:99999', 'example.com', '[203.0.113.9']) {
      const answer = clientAddress('127.0.0.1', raw(['x-forwarded-for', `198.51.100.66, ${hop}`]), LOCAL_PROXY);
      expect(answer, hop).toMatchObject({ ok: false, problem: 'no-forwarded-client' });
    }
  });

  it('refuses a request from the proxy without the header: there is no client to check', () => {
    const answer = clientAddress('127.0.0.1', raw(['forwarded', 'for=203.0.113.9']), LOCAL_PROXY);
    expect(answer).toMatchObject({ ok: false, problem: 'no-forwarded-client' });
    expect(answer.ok ? '' : answer.detail).toContain('without a x-forwarded-for header');
  });

  it('reads RFC 7239 Forwarded when that is the header named, and then ignores X-Forwarded-For', () => {
    const trust = parseProxyTrust('127.0.0.1', 'forwarded');
    const headers = raw(
      ['x-forwarded-for', '198.51.100.66'],
      ['Forwarded', 'for=198.51.100.67;proto=https, For="[2001:db8:cafe::17]:4711";by=127.0.0.1'],
    );
    expect(clientAddress('127.0.0.1', headers, trust)).toEqual({ ok: true, address: '2001:db8:cafe::17' });
    const quotedV4 = raw(['forwarded', 'for="203.0.113.43:47011"']);
    expect(clientAddress('127.0.0.1', quotedV4, trust)).toEqual({ ok: true, address: '203.0.113.43' });
    // An element without for= names no client: refused, not skipped.
    expect(clientAddress('127.0.0.1', raw(['forwarded', 'proto=https;by=127.0.0.1']), trust)).toMatchObject({
      ok: false,
    });
  });
});
