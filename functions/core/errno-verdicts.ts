/**
 * What a socket error says about the caller's port, one table per protocol (DESIGN §2). Every
 * error here came from the network, almost all as an ICMP error the kernel turned into an errno
 * (Linux: net/ipv4/icmp.c icmp_err_convert, net/ipv6/icmp.c icmpv6_err_convert), so each is an
 * answer, a state with a reason. An error in neither table is a failure of this machine (out of
 * sockets, no route of its own): the service fails closed rather than guess.
 */
import type { TcpPortReason, TcpPortState, UdpPortReason, UdpPortState } from '../contract/wire.ts';

/** A state and its reason. */
export interface ErrnoVerdict<S extends string = TcpPortState, R extends string = TcpPortReason> {
  readonly state: S;
  readonly reason: R;
}

/**
 * TCP connect(). ICMP port-unreachable is ECONNREFUSED, as a RST is, which is why a REJECT reads
 * "closed", as in `nmap -sT`. Parameter-problem (EPROTO) and source-route-failed (ENOTSUP, also
 * spelt EOPNOTSUPP) are rare but real answers from the path: a destination that could not be
 * reached for a reason ICMP names, so `filtered / dest-unreach`, never a local failure.
 */
export const TCP_ERRNO_VERDICTS: Readonly<Record<string, ErrnoVerdict>> = {
  ECONNREFUSED: { state: 'closed', reason: 'conn-refused' },
  EHOSTUNREACH: { state: 'filtered', reason: 'host-unreach' },
  ENETUNREACH: { state: 'filtered', reason: 'net-unreach' },
  EACCES: { state: 'filtered', reason: 'admin-prohibited' },
  ENOPROTOOPT: { state: 'filtered', reason: 'proto-unreach' },
  ENONET: { state: 'filtered', reason: 'dest-unreach' },
  EPROTO: { state: 'filtered', reason: 'dest-unreach' },
  ENOTSUP: { state: 'filtered', reason: 'dest-unreach' },
  EOPNOTSUPP: { state: 'filtered', reason: 'dest-unreach' },
  EHOSTDOWN: { state: 'filtered', reason: 'no-response' },
  ETIMEDOUT: { state: 'filtered', reason: 'no-response' },
};

/**
 * A connected UDP socket. On IPv4 the only hard ICMP codes that become EHOSTUNREACH are the
 * prohibited ones (9/10/13 and the precedence codes); on IPv6 administratively-prohibited,
 * policy-fail and reject-route become EACCES: both are a firewall saying no, as Nmap's
 * `admin-prohibited`. EMSGSIZE stays out: on UDP it is this machine refusing a datagram.
 */
export const UDP_ERRNO_VERDICTS: Readonly<Record<string, ErrnoVerdict<UdpPortState, UdpPortReason>>> = {
  ECONNREFUSED: { state: 'closed', reason: 'port-unreach' },
  EHOSTUNREACH: { state: 'filtered', reason: 'admin-prohibited' },
  EACCES: { state: 'filtered', reason: 'admin-prohibited' },
  ENETUNREACH: { state: 'filtered', reason: 'net-unreach' },
  ENOPROTOOPT: { state: 'filtered', reason: 'proto-unreach' },
  ENONET: { state: 'filtered', reason: 'dest-unreach' },
  EHOSTDOWN: { state: 'filtered', reason: 'dest-unreach' },
  EPROTO: { state: 'filtered', reason: 'dest-unreach' },
};

/** The verdict `table` gives the socket error `code`, or `undefined` for a local failure. Own keys only: `toString` is no errno. */
export function verdictFor<V>(table: Readonly<Record<string, V>>, code: string | undefined): V | undefined {
  return code !== undefined && Object.hasOwn(table, code) ? table[code] : undefined;
}
