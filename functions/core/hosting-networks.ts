/**
 * The documented list of networks that are plainly not a home or mobile ISP: when the caller's
 * address is held by one of them, the check reached that network (a cloud VM, a VPN's exit, a
 * privacy relay), not the caller's router, and the answer says so. The list is small on purpose
 * and decides alone: an AS not on it gets no note, however its name reads (no guessing from
 * words like "hosting" in an organisation's name). Each entry names the holder the dataset gives
 * it, and test/unit/network-holder.test.ts checks that the shipped dataset still does.
 * README "Who holds your address" lists the same entries.
 */
import type { NetworkKind } from '../contract/wire.ts';

/** AS number → kind, with the holder's name as the dataset spells it (for the test and the README). */
export const HOSTING_NETWORKS: ReadonlyMap<number, { readonly kind: NetworkKind; readonly holder: string }> = new Map([
  // Cloud and hosting providers: an address here is a server's, not a home's.
  [16509, { kind: 'hosting', holder: 'Amazon.com, Inc.' }],
  [14618, { kind: 'hosting', holder: 'Amazon.com, Inc.' }],
  [8075, { kind: 'hosting', holder: 'Microsoft Corporation' }],
  [396982, { kind: 'hosting', holder: 'Google LLC' }],
  [31898, { kind: 'hosting', holder: 'Oracle Corporation' }],
  [14061, { kind: 'hosting', holder: 'DigitalOcean, LLC' }],
  [24940, { kind: 'hosting', holder: 'Hetzner Online GmbH' }],
  [16276, { kind: 'hosting', holder: 'OVH SAS' }],
  [63949, { kind: 'hosting', holder: 'Akamai Technologies, Inc.' }], // Linode
  [20473, { kind: 'hosting', holder: 'The Constant Company, LLC' }], // Vultr
  [12876, { kind: 'hosting', holder: 'Scaleway SAS' }],
  [51167, { kind: 'hosting', holder: 'Contabo GmbH' }],
  [45102, { kind: 'hosting', holder: 'Alibaba (US) Technology Co., Ltd.' }],
  [132203, { kind: 'hosting', holder: 'Shenzhen Tencent Computer Systems Company Limited' }],
  [9009, { kind: 'hosting', holder: 'M247 Europe SRL' }], // many VPNs' exits
  [60068, { kind: 'hosting', holder: 'Datacamp Limited' }], // many VPNs' exits
  [212238, { kind: 'hosting', holder: 'Datacamp Limited' }],
  // VPN providers' own networks.
  [39351, { kind: 'vpn', holder: '31173 Services AB' }], // Mullvad
  [62371, { kind: 'vpn', holder: 'Proton AG' }],
  [209103, { kind: 'vpn', holder: 'Proton AG' }],
  // Privacy relays: iCloud Private Relay egresses through these, Cloudflare also for WARP.
  [36183, { kind: 'relay', holder: 'Akamai Technologies, Inc.' }],
  [13335, { kind: 'relay', holder: 'Cloudflare, Inc.' }],
  [54113, { kind: 'relay', holder: 'Fastly, Inc.' }],
]);

/** The kind of network `asn` is on the list as, or `null`. */
export function hostingKind(asn: number): NetworkKind | null {
  return HOSTING_NETWORKS.get(asn)?.kind ?? null;
}
