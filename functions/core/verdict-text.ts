/**
 * What each verdict means for a person, in one place for the text output, the page and the CLI.
 */
import type { PortState } from './probe.ts';

/** One line per state: what it means and what to do next. */
export const STATE_MEANING: Readonly<Record<PortState, string>> = {
  open: 'open: a service accepted the connection; it is reachable from where this check ran.',
  closed:
    'closed: your address answered, but nothing accepted the connection: no service is listening, or a firewall rejects it (nmap -sT says "closed" too).',
  filtered:
    'filtered: nothing answered in time (a firewall dropping it, a router without a forward, or an ISP block); one check cannot tell loss from a firewall.',
  untestable:
    'untestable: this checker cannot test it: outbound port 25 is blocked by the cloud provider, or this deployment has no IPv6 egress (try over IPv4, or a deployment in VPC mode).',
};
