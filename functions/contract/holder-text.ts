/**
 * The words people read about who holds their address (`GET /ip`'s `asn`, `org`, `country`),
 * one wording for the page, the widget, the CLI and `/ip`'s text answer.
 */
import type { IpResponse, NetworkKind } from './wire.ts';

/** Attribution the dataset's licence (CC BY 4.0) asks of any page that shows its results. */
export const HOLDER_DATA_CREDIT = {
  text: 'IP to ASN data by DB-IP, RouteViews and the NRO (CC BY 4.0)',
  url: 'https://db-ip.com',
} as const;

/** "AS3320 Deutsche Telekom AG · DE", or `undefined` when the dataset says nothing of the address. */
export function holderLine(ip: Pick<IpResponse, 'asn' | 'org' | 'country'>): string | undefined {
  const network = ip.asn === null ? undefined : `AS${ip.asn}${ip.org ? ` ${ip.org}` : ''}`;
  const parts = [network, ip.country ?? undefined].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? undefined : parts.join(' · ');
}

const KIND_WORDS: Readonly<Record<NetworkKind, string>> = {
  hosting: 'a hosting or cloud network',
  vpn: 'a VPN provider',
  relay: 'a privacy relay or proxy network',
};

/**
 * The note shown when the holder is on the documented list (functions/core/hosting-networks.ts):
 * the check reached that network, not the caller's router. `undefined` otherwise.
 */
export function holderNote(ip: Pick<IpResponse, 'org' | 'asn' | 'networkKind'>): string | undefined {
  if (ip.networkKind === null) return undefined;
  const who = ip.org ?? `AS${ip.asn}`;
  return `This address belongs to ${who}, ${KIND_WORDS[ip.networkKind]}: if that is not your ISP, the check reached that network, not your router.`;
}
