import { describe, expect, it } from 'vitest';
import { BadRequest, Forbidden } from '../../functions/core/errors.ts';
import { assertDialable, parseSourceAddress } from '../../functions/core/source-address.ts';

describe('parseSourceAddress', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7', 4],
    ['8.8.8.8:51234', '8.8.8.8', 4],
    ['2606:4700::1111', '2606:4700::1111', 6],
    ['[2606:4700::1111]:443', '2606:4700::1111', 6],
    ['2606:4700:0000:0000:0000:0000:0000:1111', '2606:4700::1111', 6],
    ['::ffff:8.8.4.4', '8.8.4.4', 4],
    ['::ffff:808:404', '8.8.4.4', 4],
    ['[::ffff:8.8.4.4]:80', '8.8.4.4', 4],
  ])('reads %j as %s (IPv%i)', (raw, address, family) => {
    expect(parseSourceAddress(raw)).toMatchObject({ address, family });
  });

  it.each([
    undefined,
    '',
    'localhost',
    'example.com',
    '010.0.0.1',
    '0x7f.1',
    '127.1',
    '2130706433',
    '1.2.3.4.5',
    '256.1.1.1',
    'fe80::1%eth0',
    '1.2.3.4:',
    '1.2.3.4:99999999',
    '[1.2.3.4]:80x',
    ' 1.2.3.4',
    '1.2.3.4, 5.6.7.8',
    'a'.repeat(100),
  ])('refuses %j as unreadable', (raw) => {
    expect(() => parseSourceAddress(raw)).toThrow(BadRequest);
  });
});

describe('assertDialable in deployed mode (public-only)', () => {
  const refused: ReadonlyArray<readonly [string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['169.254.169.254', /link-local/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /special-purpose|reserved|unspecified/],
    ['192.0.2.1', /reserved or documentation/],
    ['198.51.100.1', /reserved or documentation/],
    ['203.0.113.1', /reserved or documentation/],
    ['198.18.0.1', /reserved|benchmarking/],
    ['240.0.0.1', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /reserved or documentation/],
    ['::ffff:10.0.0.1', /private/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:100.64.0.1', /carrier-grade NAT/],
    ['::ffff:169.254.169.254', /link-local/],
    ['2002:a00:1::1', /special-purpose/],
    ['64:ff9b::a00:1', /special-purpose/],
    ['4000::1', /special-purpose/],
  ];
  it.each(refused)('refuses %s with 403 saying why (%s)', (raw, why) => {
    const source = parseSourceAddress(raw);
    expect(() => assertDialable(source, 'public-only')).toThrow(Forbidden);
    expect(() => assertDialable(source, 'public-only')).toThrow(why);
  });

  it('explains carrier-grade NAT so a non-expert can act on it', () => {
    expect(() => assertDialable(parseSourceAddress('100.64.1.1'), 'public-only')).toThrow(
      /ISP shares one public address/,
    );
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '2606:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
  ])('lets the global address %s through', (raw) => {
    expect(() => assertDialable(parseSourceAddress(raw), 'public-only')).not.toThrow();
  });
});

describe('assertDialable in local modes', () => {
  it('allows loopback only under public-and-loopback', () => {
    expect(() => assertDialable(parseSourceAddress('127.0.0.1'), 'public-and-loopback')).not.toThrow();
    expect(() => assertDialable(parseSourceAddress('::1'), 'public-and-loopback')).not.toThrow();
    expect(() => assertDialable(parseSourceAddress('10.0.0.1'), 'public-and-loopback')).toThrow(Forbidden);
  });

  it('allows any parsable address under any (lab only)', () => {
    expect(() => assertDialable(parseSourceAddress('198.18.0.2'), 'any')).not.toThrow();
  });
});

describe('IPv4-compatible IPv6 (::a.b.c.d, deprecated by RFC 4291)', () => {
  // However it is written, it is one IPv6 address in ::/96, not the IPv4 address inside it.
  const forms = [
    '::8.8.8.8',
    '::808:808',
    '0:0:0:0:0:0:8.8.8.8',
    '0:0:0:0:0:0:808:808',
    '::0:8.8.8.8',
    '0::8.8.8.8',
    '::0.0.8.8',
    '::1.2.3.4',
    '[::8.8.8.8]:443',
    '::0808:0808',
  ];

  it.each(forms)('reads %j as IPv6, never as the IPv4 address inside it', (raw) => {
    const source = parseSourceAddress(raw);
    expect(source.family).toBe(6);
    expect(source.range).toBe('ipv4Compatible');
  });

  it.each(forms)('refuses %j under every policy, naming why', (raw) => {
    const source = parseSourceAddress(raw);
    for (const policy of ['public-only', 'public-and-loopback', 'any'] as const) {
      expect(() => assertDialable(source, policy)).toThrow(/IPv4-compatible/);
    }
  });

  it('still reads :: and ::1 as unspecified and loopback, and ::ffff:a.b.c.d as IPv4', () => {
    expect(parseSourceAddress('::').range).toBe('unspecified');
    expect(parseSourceAddress('::1').range).toBe('loopback');
    expect(parseSourceAddress('::ffff:8.8.8.8')).toMatchObject({ address: '8.8.8.8', family: 4 });
    expect(parseSourceAddress('0:0:0:0:0:ffff:8.8.8.8')).toMatchObject({ address: '8.8.8.8', family: 4 });
  });
});
