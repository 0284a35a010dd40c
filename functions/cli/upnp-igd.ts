/**
 * UPnP IGD as text: the SSDP search a client multicasts, the router's answer, the device
 * description it points to, and the SOAP calls the doctor makes on the WAN connection service
 * (GetExternalIPAddress, GetSpecificPortMappingEntry, AddPortMapping, DeletePortMapping).
 * Routers' XML is small and regular; it is read with a bounded scanner that understands
 * elements, namespace prefixes and entities and nothing more, so a hostile or broken answer can
 * only yield "no answer". Pure; `router-discovery.ts` does the sending.
 */

/** Where SSDP searches go (UPnP Device Architecture 1.1 §1.3.2). */
export const SSDP_ADDRESS = '239.255.255.250';
/** IPv6's link-local SSDP group (UPnP Device Architecture 1.1 §1.3.2), asked on the route's interface. */
export const SSDP_ADDRESS_V6 = 'ff02::c';
export const SSDP_PORT = 1900;

/** The device a search asks for: any Internet gateway, IGD v1 or v2 (v2 devices answer v1 searches). */
const SEARCH_TARGET = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';

/** Larger texts are refused unread: a real root description is a few kilobytes. */
export const MAX_XML_BYTES = 64 * 1024;

/** The M-SEARCH datagram; `mx` is how many seconds devices may wait before answering; `v6`: sent to ff02::c. */
export function encodeSearch(mx = 1, v6 = false): string {
  return [
    'M-SEARCH * HTTP/1.1',
    `HOST: ${v6 ? '[FF02::C]' : SSDP_ADDRESS}:${SSDP_PORT}`,
    'MAN: "ssdp:discover"',
    `MX: ${mx}`,
    `ST: ${SEARCH_TARGET}`,
    '',
    '',
  ].join('\r\n');
}

/** An SSDP answer: where the device's description is. */
export interface SearchAnswer {
  readonly location: string;
  readonly searchTarget: string;
}

/** Reads an SSDP answer (an HTTP/1.1 200 with LOCATION and ST), or `undefined` when it is not one. */
export function decodeSearchAnswer(text: string): SearchAnswer | undefined {
  if (text.length > 4096) return undefined;
  const [status, ...lines] = text.split('\r\n');
  if (!/^HTTP\/1\.[01] 200\b/.test(status ?? '')) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const location = headers.get('location');
  const searchTarget = headers.get('st') ?? '';
  if (location === undefined || !/^http:\/\/[^/\s]+\/\S*$/.test(location)) return undefined;
  if (!/InternetGatewayDevice|WAN(IP|PPP)Connection/.test(searchTarget)) return undefined;
  return { location, searchTarget };
}

const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Text content with XML's five entities and numeric references replaced; unknown ones left as they are. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name] ?? whole;
  });
}

/**
 * The inner text of every element whose local name is `name` (any namespace prefix), in order.
 * Elements do not nest inside one of the same name in the documents read here; an unclosed one
 * ends the list.
 */
export function elementsNamed(xml: string, name: string): string[] {
  const found: string[] = [];
  const open = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^>]*?)?(/)?>`, 'g');
  for (let match = open.exec(xml); match !== null && found.length < 256; match = open.exec(xml)) {
    if (match[1] === '/') {
      found.push('');
      continue;
    }
    const close = new RegExp(`</(?:[A-Za-z_][\\w.-]*:)?${name}\\s*>`, 'g');
    close.lastIndex = open.lastIndex;
    const end = close.exec(xml);
    if (end === null) break;
    found.push(xml.slice(open.lastIndex, end.index));
    open.lastIndex = close.lastIndex;
  }
  return found;
}

/** The decoded, trimmed text of the first element named `name`, or `undefined`. */
export function firstText(xml: string, name: string): string | undefined {
  const inner = elementsNamed(xml, name)[0];
  return inner === undefined ? undefined : decodeEntities(inner).trim();
}

/** The WAN connection service of a gateway: where to send SOAP calls, and as which service. */
export interface WanService {
  readonly serviceType: string;
  readonly controlUrl: string;
}

/** The service types that carry port mappings, best first. */
const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
];

/**
 * The first of `types` (best first) in a root device description fetched from `location`, its
 * control URL made absolute (against `URLBase` when given, else the description's own URL);
 * `undefined` when the text is not such a description or names none of them.
 */
export function serviceOf(xml: string, location: string, types: readonly string[]): WanService | undefined {
  if (xml.length > MAX_XML_BYTES) return undefined;
  const services = elementsNamed(xml, 'service').map((s) => ({
    serviceType: firstText(s, 'serviceType') ?? '',
    controlUrl: firstText(s, 'controlURL') ?? '',
  }));
  for (const type of types) {
    const service = services.find((s) => s.serviceType === type && s.controlUrl !== '');
    if (service === undefined) continue;
    let url: URL;
    try {
      url = new URL(service.controlUrl, firstText(xml, 'URLBase') || location);
    } catch {
      return undefined;
    }
    // Control goes over plain HTTP to the gateway; anything else is not a router's answer.
    if (url.protocol !== 'http:') return undefined;
    return { serviceType: type, controlUrl: url.href };
  }
  return undefined;
}

/** The WAN connection service (the one that carries port mappings) in a root device description. */
export function wanServiceOf(xml: string, location: string): WanService | undefined {
  return serviceOf(xml, location, WAN_SERVICES);
}

/** One SOAP call: its action, its arguments in the order the service defines them. */
export interface SoapCall {
  readonly action: string;
  readonly args: ReadonlyArray<readonly [string, string | number]>;
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);

/** The envelope and SOAPAction header of `call` on `serviceType`. */
export function encodeSoap(serviceType: string, call: SoapCall): { body: string; soapAction: string } {
  const args = call.args.map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${call.action} xmlns:u="${escapeXml(serviceType)}">${args}</u:${call.action}></s:Body></s:Envelope>\r\n`;
  return { body, soapAction: `"${serviceType}#${call.action}"` };
}

/** A SOAP answer: the response's arguments by name, or the UPnP error the router gave. */
export type SoapAnswer =
  | { readonly kind: 'ok'; readonly values: ReadonlyMap<string, string> }
  | { readonly kind: 'fault'; readonly code: number; readonly description: string };

/** Reads the answer to `action`, or `undefined` when the text is neither its response nor a UPnP fault. */
export function decodeSoap(xml: string, action: string): SoapAnswer | undefined {
  if (xml.length > MAX_XML_BYTES) return undefined;
  const fault = elementsNamed(xml, 'UPnPError')[0];
  if (fault !== undefined) {
    const code = Number(firstText(fault, 'errorCode'));
    if (!Number.isInteger(code)) return undefined;
    return { kind: 'fault', code, description: firstText(fault, 'errorDescription') ?? '' };
  }
  const response = elementsNamed(xml, `${action}Response`)[0];
  if (response === undefined) return undefined;
  const values = new Map<string, string>();
  const child = /<([A-Za-z_][\w.-]*)\s*(\/)?>/g;
  for (let match = child.exec(response); match !== null && values.size < 64; match = child.exec(response)) {
    const name = match[1] ?? '';
    if (match[2] === '/') {
      values.set(name, '');
      continue;
    }
    const end = response.indexOf(`</${name}>`, child.lastIndex);
    if (end < 0) return undefined;
    values.set(name, decodeEntities(response.slice(child.lastIndex, end)).trim());
    child.lastIndex = end + name.length + 3;
  }
  return { kind: 'ok', values };
}

/** UPnP's "no such entry" for GetSpecificPortMappingEntry (IGD WANIPConnection:1 §2.4.16). */
export const NO_SUCH_ENTRY = 714;

/** The calls the doctor makes, built from plain values. */
export const calls = {
  externalAddress: (): SoapCall => ({ action: 'GetExternalIPAddress', args: [] }),
  mappingFor: (port: number, protocol: 'tcp' | 'udp'): SoapCall => ({
    action: 'GetSpecificPortMappingEntry',
    args: [
      ['NewRemoteHost', ''],
      ['NewExternalPort', port],
      ['NewProtocol', protocol.toUpperCase()],
    ],
  }),
  add: (
    port: number,
    protocol: 'tcp' | 'udp',
    client: string,
    leaseSeconds: number,
    description: string,
  ): SoapCall => ({
    action: 'AddPortMapping',
    args: [
      ['NewRemoteHost', ''],
      ['NewExternalPort', port],
      ['NewProtocol', protocol.toUpperCase()],
      ['NewInternalPort', port],
      ['NewInternalClient', client],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', description],
      ['NewLeaseDuration', leaseSeconds],
    ],
  }),
  remove: (port: number, protocol: 'tcp' | 'udp'): SoapCall => ({
    action: 'DeletePortMapping',
    args: [
      ['NewRemoteHost', ''],
      ['NewExternalPort', port],
      ['NewProtocol', protocol.toUpperCase()],
    ],
  }),
} as const;
