/**
 * The router protocols' bytes and text: NAT-PMP (RFC 6886), PCP (RFC 6887) and UPnP IGD (SSDP,
 * device description, SOAP), held against the RFCs' layouts and against what Debian's
 * miniupnpd 2.3.1 sends (captured in the lab), and fed short, long and hostile answers.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeExternalAddressAnswer,
  decodeMapAnswer,
  encodeExternalAddressRequest,
  encodeMapRequest,
  natPmpResultText,
} from '../../functions/cli/nat-pmp.ts';
import {
  addressBytes,
  addressText,
  decodePcpAnswer,
  encodeAnnounce,
  encodeMapRequest as encodePcpMap,
  pcpResultText,
} from '../../functions/cli/pcp.ts';
import {
  calls,
  decodeEntities,
  decodeSearchAnswer,
  decodeSoap,
  elementsNamed,
  encodeSearch,
  encodeSoap,
  MAX_XML_BYTES,
  wanServiceOf,
} from '../../functions/cli/upnp-igd.ts';
import { MINIUPNPD_DESCRIPTION } from '../fixtures/miniupnpd.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

describe('NAT-PMP', () => {
  it('asks for the external address with version 0, opcode 0', () => {
    expect(hex(encodeExternalAddressRequest())).toBe('0000');
  });

  it('reads the external-address answer: result, epoch, address', () => {
    expect(decodeExternalAddressAnswer(bytes('00 80 0000 00010203 0b000002'))).toEqual({
      result: 0,
      epoch: 0x00010203,
      address: '11.0.0.2',
    });
    expect(decodeExternalAddressAnswer(bytes('00 80 0003 00000001 00000000'))).toMatchObject({ result: 3 });
    expect(natPmpResultText(3)).toMatch(/network failure/);
    expect(natPmpResultText(99)).toBe('result code 99');
  });

  it.each([
    ['short', '00 80 0000 0000'],
    ['long', '00 80 0000 00000000 0b000002 00'],
    ['a request, not an answer', '00 00 0000 00000000 0b000002'],
    ['another version', '02 80 0000 00000000 0b000002'],
    ['empty', ''],
  ])('refuses an external-address answer that is %s', (_, h) => {
    expect(decodeExternalAddressAnswer(bytes(h))).toBeUndefined();
  });

  it('lays out a TCP mapping request as RFC 6886 §3.3 does, and deletion as lifetime 0', () => {
    expect(
      hex(encodeMapRequest({ protocol: 'tcp', internalPort: 40000, externalPort: 40000, lifetimeSeconds: 300 })),
    ).toBe('00020000' + '9c40' + '9c40' + '0000012c');
    expect(hex(encodeMapRequest({ protocol: 'udp', internalPort: 53, externalPort: 0, lifetimeSeconds: 0 }))).toBe(
      '000100000035000000000000',
    );
  });

  it('reads a mapping answer and refuses one of the wrong size or opcode', () => {
    expect(decodeMapAnswer(bytes('00 82 0000 00000005 9c40 9c41 0000012c'))).toEqual({
      result: 0,
      protocol: 'tcp',
      internalPort: 40000,
      externalPort: 40001,
      lifetimeSeconds: 300,
    });
    expect(decodeMapAnswer(bytes('00 81 0002 00000005 0035 0000 00000000'))).toMatchObject({
      protocol: 'udp',
      result: 2,
    });
    expect(decodeMapAnswer(bytes('00 80 0000 00000005 9c40 9c41 0000012c'))).toBeUndefined();
    expect(decodeMapAnswer(bytes('00 82 0000 00000005 9c40 9c41'))).toBeUndefined();
  });
});

describe('PCP', () => {
  it('writes IPv4 as IPv4-mapped IPv6 and reads it back', () => {
    expect(hex(addressBytes('192.168.1.20'))).toBe('00000000000000000000ffffc0a80114');
    expect(addressText(addressBytes('192.168.1.20'))).toBe('192.168.1.20');
    expect(addressText(addressBytes('2001:db8::7'))).toBe('2001:db8:0:0:0:0:0:7');
    expect(() => addressBytes('router.lan')).toThrow(/not an IP address/);
  });

  it('lays out ANNOUNCE as a 24-byte header with the client address', () => {
    expect(hex(encodeAnnounce('192.168.1.20'))).toBe(`0200000000000000${'00000000000000000000ffffc0a80114'}`);
  });

  it('lays out MAP as RFC 6887 §11.1 does: nonce, protocol, ports, any IPv4', () => {
    const nonce = bytes('0102030405060708090a0b0c');
    const message = encodePcpMap({
      client: '192.168.1.20',
      nonce,
      protocol: 'tcp',
      internalPort: 40000,
      externalPort: 40000,
      lifetimeSeconds: 300,
    });
    expect(message.length).toBe(60);
    expect(hex(message)).toBe(
      '0201000000000' +
        '12c' +
        '00000000000000000000ffffc0a80114' +
        '0102030405060708090a0b0c' +
        '06000000' +
        '9c409c40' +
        '00000000000000000000ffff00000000',
    );
    expect(() =>
      encodePcpMap({
        client: '192.168.1.20',
        nonce: new Uint8Array(4),
        protocol: 'udp',
        internalPort: 1,
        externalPort: 1,
        lifetimeSeconds: 1,
      }),
    ).toThrow(/12 bytes/);
  });

  const mapAnswer = (result: number, length = 60): Uint8Array => {
    const b = new Uint8Array(length);
    b.set(bytes(`02 81 00 ${result.toString(16).padStart(2, '0')} 0000012c 00000007`));
    b.set(bytes('0102030405060708090a0b0c 06000000 9c40 9c40 00000000000000000000ffff0b000002'), 24);
    return b;
  };

  it('reads a MAP answer: result, lifetime, nonce, ports, external address', () => {
    expect(decodePcpAnswer(mapAnswer(0))).toMatchObject({
      kind: 'map',
      result: 0,
      lifetimeSeconds: 300,
      epoch: 7,
      protocol: 6,
      internalPort: 40000,
      externalPort: 40000,
      externalAddress: '11.0.0.2',
    });
    expect(pcpResultText(12)).toMatch(/address mismatch/);
    expect(pcpResultText(200)).toBe('result code 200');
  });

  it('reads an ANNOUNCE answer, and NAT-PMP\'s "unsupported version" as a NAT-PMP-only router', () => {
    expect(decodePcpAnswer(bytes('02 80 00 00 00000000 00000009 000000000000000000000000'))).toEqual({
      kind: 'announce',
      result: 0,
      epoch: 9,
    });
    expect(decodePcpAnswer(bytes('00 80 0001 00000000 00000000'))).toEqual({ kind: 'nat-pmp-only' });
  });

  it.each([
    ['shorter than a header', bytes('02 81 00 00')],
    ['a MAP answer cut short', mapAnswer(0).subarray(0, 40)],
    ['not a multiple of 4 bytes', mapAnswer(0, 61)],
    ['over 1100 bytes', mapAnswer(0, 1104)],
    ['a request (R bit clear)', bytes('02 01 00 00 00000000 00000000 000000000000000000000000')],
    ['version 1', bytes('01 80 00 00 00000000 00000000 000000000000000000000000')],
    ['an unknown opcode', bytes('02 85 00 00 00000000 00000000 000000000000000000000000')],
  ])('refuses an answer that is %s', (_, b) => {
    expect(decodePcpAnswer(b)).toBeUndefined();
  });
});

/** What miniupnpd 2.3.1 answered to an M-SEARCH in the lab. */
const MINIUPNPD_SEARCH_ANSWER =
  'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSN: uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nSERVER: Debian/6.18.44 UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\nOPT: "http://schemas.upnp.org/upnp/1/0/"; ns=01\r\n\r\n';

/** miniupnpd 2.3.1's root description, cut to its structure (the lab fetches the whole one). */
describe('UPnP IGD: SSDP', () => {
  it('searches for an Internet gateway with ssdp:discover', () => {
    expect(encodeSearch(1)).toBe(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n',
    );
  });

  it("reads miniupnpd's answer", () => {
    expect(decodeSearchAnswer(MINIUPNPD_SEARCH_ANSWER)).toEqual({
      location: 'http://192.168.1.1:5000/rootDesc.xml',
      searchTarget: 'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
    });
  });

  it.each([
    ['a NOTIFY', MINIUPNPD_SEARCH_ANSWER.replace('HTTP/1.1 200 OK', 'NOTIFY * HTTP/1.1')],
    ['no LOCATION', MINIUPNPD_SEARCH_ANSWER.replace(/LOCATION:[^\r]*\r\n/, '')],
    ['an https LOCATION', MINIUPNPD_SEARCH_ANSWER.replace('http://192', 'https://192')],
    ['a printer', MINIUPNPD_SEARCH_ANSWER.replaceAll('InternetGatewayDevice', 'Printer')],
    ['oversized', MINIUPNPD_SEARCH_ANSWER + 'X'.repeat(5000)],
  ])('refuses %s', (_, text) => {
    expect(decodeSearchAnswer(text)).toBeUndefined();
  });
});

describe('UPnP IGD: XML', () => {
  it('finds the WAN connection service and makes its control URL absolute', () => {
    expect(wanServiceOf(MINIUPNPD_DESCRIPTION, 'http://192.168.1.1:5000/rootDesc.xml')).toEqual({
      serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2',
      controlUrl: 'http://192.168.1.1:5000/ctl/IPConn',
    });
  });

  it('prefers URLBase, reads prefixed elements and entities, and takes WANPPPConnection when that is all', () => {
    const xml = `<d:root xmlns:d="urn:schemas-upnp-org:device-1-0"><d:URLBase>http://10.0.0.1:49152/</d:URLBase><d:service><d:serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</d:serviceType><d:controlURL>ctl?a=1&amp;b=2</d:controlURL></d:service></d:root>`;
    expect(wanServiceOf(xml, 'http://10.0.0.1:1900/desc.xml')).toEqual({
      serviceType: 'urn:schemas-upnp-org:service:WANPPPConnection:1',
      controlUrl: 'http://10.0.0.1:49152/ctl?a=1&b=2',
    });
  });

  it.each([
    ['no WAN service', MINIUPNPD_DESCRIPTION.replaceAll('WANIPConnection', 'WANFoo')],
    ['an unclosed service', '<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>'],
    ['a control URL elsewhere than http', MINIUPNPD_DESCRIPTION.replace('/ctl/IPConn', 'file:///etc/passwd')],
    ['an oversized text', MINIUPNPD_DESCRIPTION + ' '.repeat(MAX_XML_BYTES)],
    ['not XML', 'HTTP 404 not found'],
  ])('finds nothing in %s', (_, xml) => {
    expect(wanServiceOf(xml, 'http://192.168.1.1:5000/rootDesc.xml')).toBeUndefined();
  });

  it('decodes entities and leaves unknown or out-of-range ones as they are', () => {
    expect(decodeEntities('a &lt;b&gt; &amp;amp; &#65;&#x42; &nbsp; &#x110000;')).toBe(
      'a <b> &amp; AB &nbsp; &#x110000;',
    );
  });

  it('reads self-closing elements, as miniupnpd writes an empty response', () => {
    expect(elementsNamed('<u:AddPortMappingResponse xmlns:u="urn:x"/>', 'AddPortMappingResponse')).toEqual(['']);
  });
});

describe('UPnP IGD: SOAP', () => {
  const TYPE = 'urn:schemas-upnp-org:service:WANIPConnection:2';

  it('writes the call with its arguments in order and the SOAPAction header', () => {
    const { body, soapAction } = encodeSoap(TYPE, calls.add(40000, 'tcp', '192.168.1.20', 300, 'a<b'));
    expect(soapAction).toBe(`"${TYPE}#AddPortMapping"`);
    expect(body).toContain(
      `<u:AddPortMapping xmlns:u="${TYPE}"><NewRemoteHost></NewRemoteHost><NewExternalPort>40000</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>40000</NewInternalPort><NewInternalClient>192.168.1.20</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>a&lt;b</NewPortMappingDescription><NewLeaseDuration>300</NewLeaseDuration></u:AddPortMapping>`,
    );
  });

  it("reads miniupnpd's GetSpecificPortMappingEntry answer", () => {
    const xml = `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:GetSpecificPortMappingEntryResponse xmlns:u="${TYPE}"><NewInternalPort>40000</NewInternalPort><NewInternalClient>192.168.1.30</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>web &amp; mail</NewPortMappingDescription><NewLeaseDuration>604782</NewLeaseDuration></u:GetSpecificPortMappingEntryResponse></s:Body></s:Envelope>`;
    const answer = decodeSoap(xml, 'GetSpecificPortMappingEntry');
    expect(answer?.kind).toBe('ok');
    expect(answer?.kind === 'ok' && Object.fromEntries(answer.values)).toEqual({
      NewInternalPort: '40000',
      NewInternalClient: '192.168.1.30',
      NewEnabled: '1',
      NewPortMappingDescription: 'web & mail',
      NewLeaseDuration: '604782',
    });
  });

  it('reads a UPnP fault (714: no such entry)', () => {
    const xml = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>714</errorCode><errorDescription>NoSuchEntryInArray</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`;
    expect(decodeSoap(xml, 'GetSpecificPortMappingEntry')).toEqual({
      kind: 'fault',
      code: 714,
      description: 'NoSuchEntryInArray',
    });
  });

  it.each([
    [
      'another action',
      '<u:GetExternalIPAddressResponse><NewExternalIPAddress>1.2.3.4</NewExternalIPAddress></u:GetExternalIPAddressResponse>',
    ],
    ['a fault without a number', '<UPnPError><errorCode>x</errorCode></UPnPError>'],
    ['an unclosed argument', '<u:DeletePortMappingResponse><NewX>1</u:DeletePortMappingResponse>'],
    ['an oversized text', `<u:DeletePortMappingResponse>${' '.repeat(MAX_XML_BYTES)}</u:DeletePortMappingResponse>`],
  ])('reads nothing from %s', (_, xml) => {
    expect(decodeSoap(xml, 'DeletePortMapping')).toBeUndefined();
  });
});
