/**
 * UPnP IGDv2's IPv6 pinholes (WANIPv6FirewallControl:1): the service in the device
 * description, the calls the doctor makes (GetFirewallStatus, AddPinhole, DeletePinhole) and
 * their answers read strictly, on top of upnp-igd.ts's SOAP and XML. An IPv6 router does not
 * translate, so "forwarding" a port there means letting inbound packets through its firewall
 * to this machine's own address: a pinhole, named by the UniqueID the router hands back. Pure.
 */
import { type SoapAnswer, type SoapCall, serviceOf, type WanService } from './upnp-igd.ts';

/** The IGDv2 service that holds IPv6 pinholes. */
export const PINHOLE_SERVICE = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';

/** The pinhole service in a root device description, or `undefined` (an IGDv1 device has none). */
export function pinholeServiceOf(xml: string, location: string): WanService | undefined {
  return serviceOf(xml, location, [PINHOLE_SERVICE]);
}

/** Pinholes name their protocol by IANA number (WANIPv6FirewallControl:1 §2.5.4). */
const IANA_PROTOCOL = { tcp: 6, udp: 17 } as const;

/** The spec's longest lease (§2.5.5: 1 to 86400 s); a longer ask is refused with 402. */
export const MAX_PINHOLE_LEASE_SECONDS = 86400;

/** The pinhole calls, built from plain values. */
export const pinholeCalls = {
  firewallStatus: (): SoapCall => ({ action: 'GetFirewallStatus', args: [] }),
  /** Inbound from any remote host and port (empty RemoteHost, RemotePort 0: the wildcards) to `client`:`port`. */
  add: (client: string, port: number, protocol: 'tcp' | 'udp', leaseSeconds: number): SoapCall => ({
    action: 'AddPinhole',
    args: [
      ['RemoteHost', ''],
      ['RemotePort', 0],
      ['InternalClient', client],
      ['InternalPort', port],
      ['Protocol', IANA_PROTOCOL[protocol]],
      ['LeaseTime', Math.min(Math.max(1, leaseSeconds), MAX_PINHOLE_LEASE_SECONDS)],
    ],
  }),
  remove: (uniqueId: number): SoapCall => ({ action: 'DeletePinhole', args: [['UniqueID', uniqueId]] }),
} as const;

/** The UniqueID an AddPinhole answer carries (a 16-bit unsigned integer), or `undefined` when it has none. */
export function pinholeIdOf(answer: SoapAnswer | undefined): number | undefined {
  if (answer?.kind !== 'ok') return undefined;
  const text = answer.values.get('UniqueID') ?? '';
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= 0xffff ? id : undefined;
}

/** What GetFirewallStatus said: whether the IPv6 firewall is on, and whether it lets pinholes be opened. */
export interface FirewallStatus {
  readonly enabled: boolean;
  readonly inboundAllowed: boolean;
}

/** UPnP booleans: "1"/"0", and "true"/"false" or "yes"/"no" from some devices. */
function upnpBoolean(text: string | undefined): boolean | undefined {
  const t = text?.toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes') return true;
  if (t === '0' || t === 'false' || t === 'no') return false;
  return undefined;
}

/** The firewall status in a GetFirewallStatus answer, or `undefined` when it is not one. */
export function firewallStatusOf(answer: SoapAnswer | undefined): FirewallStatus | undefined {
  if (answer?.kind !== 'ok') return undefined;
  const enabled = upnpBoolean(answer.values.get('FirewallEnabled'));
  const inboundAllowed = upnpBoolean(answer.values.get('InboundPinholeAllowed'));
  if (enabled === undefined || inboundAllowed === undefined) return undefined;
  return { enabled, inboundAllowed };
}
