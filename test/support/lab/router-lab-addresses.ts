/**
 * The router lab's addresses, apart from the code that builds it, so that a script run inside the
 * lab (map-runner.ts, bundled on its own) can import them without the builder's imports.
 */

/** Every home network is numbered alike, as real ones are. */
export const HOST_ADDRESS = '192.168.1.20';
export const GATEWAY = '192.168.1.1';
/** The plain chain's IPv6: the host's global address, and Dialback as the host reaches it over IPv6. */
export const HOST_V6 = '2001:db8:1::20';
export const API_V6 = `http://[2001:db8:11::1]:8787`;
/** The plain router's global LAN IPv6 address, where it serves UPnP and PCP over IPv6. */
export const ROUTER_LAN_V6 = '2001:db8:1::1';
/** Its link-local one: the host's IPv6 default route points there, as router advertisements make it. */
export const ROUTER_LINK_LOCAL = 'fe80::1';
/** A LAN address no machine holds: a forward to it is the classic stale forward. */
export const ELSEWHERE = '192.168.1.30';
