/**
 * The bounded PTR lookup against a real DNS server on loopback (test/support/fake-dns.ts):
 * a name when it answers, `null` for SERVFAIL or silence, and no question at all for callers
 * whose addresses a PTR means nothing for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerName, createReverseDns } from '../../functions/core/reverse-dns.ts';
import { type FakeDns, startFakeDns } from '../support/fake-dns.ts';

let dns: FakeDns;
beforeAll(async () => {
  dns = await startFakeDns('answer');
});
afterAll(async () => {
  await dns?.close();
});

// Documentation address: the question only ever goes to the loopback test server.
const ADDRESS = '192.0.2.10';

describe('createReverseDns', () => {
  it('answers the PTR name the server gives, without a trailing dot', async () => {
    dns.mode = 'answer';
    dns.ptrName = 'gameserver.example.net.';
    const before = dns.queries();
    expect(await createReverseDns({ timeoutMs: 2000, servers: [dns.server] })(ADDRESS)).toBe('gameserver.example.net');
    expect(dns.queries()).toBe(before + 1);
  });

  it('answers null, after asking once, when the server answers SERVFAIL', async () => {
    dns.mode = 'servfail';
    const before = dns.queries();
    expect(await createReverseDns({ timeoutMs: 2000, servers: [dns.server] })(ADDRESS)).toBeNull();
    expect(dns.queries()).toBe(before + 1);
  });

  it('answers null when the server never answers, and is usable again afterwards', async () => {
    const lookup = createReverseDns({ timeoutMs: 200, servers: [dns.server] });
    dns.mode = 'blackhole';
    const before = dns.queries();
    expect(await lookup(ADDRESS)).toBeNull();
    expect(dns.queries()).toBeGreaterThan(before);
    dns.mode = 'answer';
    dns.ptrName = 'back.example.net';
    // Another caller: an answer (null included) is reused for its address for a while.
    expect(await lookup('192.0.2.77')).toBe('back.example.net');
  });

  // "One try": a silent server is asked once, even when the bound is longer than the
  // resolver's own default retry interval (c-ares would otherwise ask again after 2 s).
  it('asks a silent server once, however long the bound', async () => {
    dns.mode = 'blackhole';
    const before = dns.queries();
    expect(await createReverseDns({ timeoutMs: 2500, servers: [dns.server] })(ADDRESS)).toBeNull();
    expect(dns.queries()).toBe(before + 1);
  });

  it('leaves no timer behind once it has answered', async () => {
    dns.mode = 'answer';
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    expect(await createReverseDns({ timeoutMs: 5000, servers: [dns.server] })(ADDRESS)).not.toBeNull();
    expect(timers()).toBe(before);
  });

  it('answers null for a text that is not an address, without failing', async () => {
    dns.mode = 'answer';
    expect(await createReverseDns({ timeoutMs: 500, servers: [dns.server] })('not-an-address')).toBeNull();
  });
});

describe('callerName', () => {
  function recording(): { lookup: (address: string) => Promise<string | null>; asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      lookup: async (address) => {
        asked.push(address);
        return 'host.example.net';
      },
    };
  }

  it('looks up global unicast addresses', async () => {
    const { lookup, asked } = recording();
    expect(await callerName(lookup, { address: '9.9.9.9', range: 'unicast' })).toBe('host.example.net');
    expect(asked).toEqual(['9.9.9.9']);
  });

  it.each([
    'loopback',
    'private',
    'benchmarking',
    'linkLocal',
    'uniqueLocal',
  ])('never asks for a %s address', async (range) => {
    const { lookup, asked } = recording();
    expect(await callerName(lookup, { address: '10.0.0.1', range })).toBeNull();
    expect(asked).toEqual([]);
  });
});
