/**
 * IPv6 pinholes as bytes and text: PCP MAP for an IPv6 address (RFC 6887 §11, the suggested
 * external address is the internal one) and UPnP IGDv2's WANIPv6FirewallControl (AddPinhole,
 * DeletePinhole, GetFirewallStatus), held against the spec's layouts and what Debian's
 * miniupnpd 2.3.1 answers (captured in the lab), and fed short, wrong and hostile answers.
 */
import { describe, expect, it } from 'vitest';
import { decodePcpAnswer, encodeMapRequest } from '../../functions/cli/pcp.ts';
import { decodeSoap, encodeSoap } from '../../functions/cli/upnp-igd.ts';
import {
  firewallStatusOf,
  MAX_PINHOLE_LEASE_SECONDS,
  PINHOLE_SERVICE,
  pinholeCalls,
  pinholeIdOf,
  pinholeServiceOf,
} from '../../functions/cli/upnp-pinhole.ts';
import { MINIUPNPD_DESCRIPTION } from '../fixtures/miniupnpd.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

/** A SOAP response envelope as miniupnpd writes it. */
const response = (action: string, inner: string): string =>
  `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action}Response xmlns:u="${PINHOLE_SERVICE}">${inner}</u:${action}Response></s:Body></s:Envelope>\r\n`;

describe('PCP for IPv6', () => {
  const HOST = '2001:db8:1::20';
  const HOST_BYTES = '20010db8000100000000000000000020';

  it('suggests the internal address as the external one (a firewall-only path, §11)', () => {
    const message = encodeMapRequest({
      client: HOST,
      nonce: bytes('0102030405060708090a0b0c'),
      protocol: 'udp',
      internalPort: 41091,
      externalPort: 41091,
      lifetimeSeconds: 300,
    });
    expect(message.length).toBe(60);
    expect(hex(message)).toBe(`020100000000012c${HOST_BYTES}0102030405060708090a0b0c11000000a083a083${HOST_BYTES}`);
  });

  it('reads the answer, whose external address is this machine itself', () => {
    const answer = new Uint8Array(60);
    answer.set(bytes('02 81 00 00 0000012c 00000003'));
    answer.set(bytes(`0102030405060708090a0b0c 06000000 a083 a083 ${HOST_BYTES}`), 24);
    expect(decodePcpAnswer(answer)).toMatchObject({
      kind: 'map',
      result: 0,
      externalPort: 41091,
      externalAddress: '2001:db8:1:0:0:0:0:20',
    });
    // Cut inside the MAP body: no answer, not a half-read one.
    expect(decodePcpAnswer(answer.subarray(0, 40))).toBeUndefined();
  });
});

describe('UPnP IGDv2 pinholes', () => {
  it("finds the pinhole service in miniupnpd's description, and none in an IGDv1 one", () => {
    expect(pinholeServiceOf(MINIUPNPD_DESCRIPTION, 'http://[2001:db8:1::1]:5000/rootDesc.xml')).toEqual({
      serviceType: PINHOLE_SERVICE,
      controlUrl: 'http://[2001:db8:1::1]:5000/ctl/IP6FCtl',
    });
    const v1 = MINIUPNPD_DESCRIPTION.replace(/<service><serviceType>[^<]*WANIPv6FirewallControl.*?<\/service>/, '');
    expect(pinholeServiceOf(v1, 'http://192.168.1.1:5000/rootDesc.xml')).toBeUndefined();
  });

  it('writes AddPinhole with wildcard remote host and port, the IANA protocol, and a lease within 1..86400', () => {
    const { body, soapAction } = encodeSoap(PINHOLE_SERVICE, pinholeCalls.add('2001:db8:1::20', 41091, 'tcp', 300));
    expect(soapAction).toBe(`"${PINHOLE_SERVICE}#AddPinhole"`);
    expect(body).toContain(
      `<u:AddPinhole xmlns:u="${PINHOLE_SERVICE}"><RemoteHost></RemoteHost><RemotePort>0</RemotePort><InternalClient>2001:db8:1::20</InternalClient><InternalPort>41091</InternalPort><Protocol>6</Protocol><LeaseTime>300</LeaseTime></u:AddPinhole>`,
    );
    expect(pinholeCalls.add('2001:db8:1::20', 1, 'udp', 10 ** 6).args).toContainEqual([
      'LeaseTime',
      MAX_PINHOLE_LEASE_SECONDS,
    ]);
    expect(pinholeCalls.add('2001:db8:1::20', 1, 'udp', 0).args).toContainEqual(['Protocol', 17]);
    expect(encodeSoap(PINHOLE_SERVICE, pinholeCalls.remove(7)).body).toContain('<UniqueID>7</UniqueID>');
  });

  it("reads the UniqueID of miniupnpd's AddPinhole answer", () => {
    expect(pinholeIdOf(decodeSoap(response('AddPinhole', '<UniqueID>1</UniqueID>'), 'AddPinhole'))).toBe(1);
    expect(pinholeIdOf(decodeSoap(response('AddPinhole', '<UniqueID>65535</UniqueID>'), 'AddPinhole'))).toBe(65535);
  });

  it.each([
    ['no UniqueID', response('AddPinhole', '')],
    ['an empty one', response('AddPinhole', '<UniqueID></UniqueID>')],
    ['one past 16 bits', response('AddPinhole', '<UniqueID>65536</UniqueID>')],
    ['a negative one', response('AddPinhole', '<UniqueID>-1</UniqueID>')],
    ['a word', response('AddPinhole', '<UniqueID>one</UniqueID>')],
    ['a cut answer', response('AddPinhole', '<UniqueID>1').slice(0, -40)],
    [
      'a fault (606: not authorized, as miniupnpd says to a call over IPv4)',
      '<s:Envelope><s:Body><s:Fault><detail><UPnPError><errorCode>606</errorCode><errorDescription>Action not authorized</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>',
    ],
  ])('reads no UniqueID from %s', (_, xml) => {
    expect(pinholeIdOf(decodeSoap(xml, 'AddPinhole'))).toBeUndefined();
  });

  it('reads the firewall status, in 1/0 and true/false', () => {
    const status = (inner: string) =>
      firewallStatusOf(decodeSoap(response('GetFirewallStatus', inner), 'GetFirewallStatus'));
    expect(status('<FirewallEnabled>1</FirewallEnabled><InboundPinholeAllowed>1</InboundPinholeAllowed>')).toEqual({
      enabled: true,
      inboundAllowed: true,
    });
    expect(status('<FirewallEnabled>true</FirewallEnabled><InboundPinholeAllowed>0</InboundPinholeAllowed>')).toEqual({
      enabled: true,
      inboundAllowed: false,
    });
    expect(status('<FirewallEnabled>1</FirewallEnabled>')).toBeUndefined();
    expect(status('<FirewallEnabled>maybe</FirewallEnabled><InboundPinholeAllowed>1</InboundPinholeAllowed>')).toBe(
      undefined,
    );
    expect(firewallStatusOf(undefined)).toBeUndefined();
  });
});
