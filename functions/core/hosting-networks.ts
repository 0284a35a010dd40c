/**
 * The documented list of networks that are plainly not a home or mobile ISP: when the caller's
 * address is held by one of them, the check reached that network (a cloud VM, a VPN's exit, a
 * privacy relay), not the caller's router, and the answer says so. The list is small on purpose
 * and decides alone: an AS not on it gets no note, however its name reads (no guessing from
 * words like "hosting" in an organisation's name). Each entry names the holder the dataset gives
 * it (in a comment), and test/unit/network-holder.test.ts checks that the shipped dataset still does.
 * README "Who holds your address" lists the same entries.
 */
import type { NetworkKind } from '../contract/wire.ts';

/**
 * AS number → kind; the comment is the holder's name as the dataset spells it (the names stay
 * out of the bundle; the test lists them and checks them against the shipped dataset).
 */
export const HOSTING_NETWORKS: ReadonlyMap<number, NetworkKind> = new Map<number, NetworkKind>([
  // Cloud and hosting providers: an address here is a server's, not a home's.
  [16509, 'hosting'], // Amazon.com, Inc.
  [14618, 'hosting'], // Amazon.com, Inc.
  [8075, 'hosting'], // Microsoft Corporation
  [396982, 'hosting'], // Google LLC
  [31898, 'hosting'], // Oracle Corporation
  [14061, 'hosting'], // DigitalOcean, LLC
  [24940, 'hosting'], // Hetzner Online GmbH
  [16276, 'hosting'], // OVH SAS
  [63949, 'hosting'], // Akamai Technologies, Inc. (Linode)
  [20473, 'hosting'], // The Constant Company, LLC (Vultr)
  [12876, 'hosting'], // Scaleway SAS
  [51167, 'hosting'], // Contabo GmbH
  [45102, 'hosting'], // Alibaba (US) Technology Co., Ltd.
  [132203, 'hosting'], // Shenzhen Tencent Computer Systems Company Limited
  [9009, 'hosting'], // M247 Europe SRL (many VPNs' exits)
  [60068, 'hosting'], // Datacamp Limited (many VPNs' exits)
  [212238, 'hosting'], // Datacamp Limited
  // VPN providers' own networks.
  [39351, 'vpn'], // 31173 Services AB (Mullvad)
  [62371, 'vpn'], // Proton AG
  [209103, 'vpn'], // Proton AG
  // Privacy relays: iCloud Private Relay egresses through these, Cloudflare also for WARP.
  [36183, 'relay'], // Akamai Technologies, Inc.
  [13335, 'relay'], // Cloudflare, Inc.
  [54113, 'relay'], // Fastly, Inc.
]);

/** The kind of network `asn` is on the list as, or `null`. */
export function hostingKind(asn: number): NetworkKind | null {
  return HOSTING_NETWORKS.get(asn) ?? null;
}
