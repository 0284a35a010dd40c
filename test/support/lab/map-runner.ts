/**
 * Runs in the router lab's host namespace (a child process, as the doctor does): asks the real
 * router for a forward over one protocol only (NAT-PMP or PCP; UPnP is what `doctor --map`
 * picks first, so these two are only reached here), reads the router's own nftables forward
 * rules while the forward is held, removes it, and reads them again; "PCP6" does the same for
 * an IPv6 pinhole, asked of the router's link-local address (as the host's IPv6 route names it)
 * for this host's global address, and read in the router's pinhole chain.
 * Prints one JSON line.
 * Usage: map-runner.ts '{"router":"<router netns>","protocol":"NAT-PMP","port":41101}'
 */
import { execFileSync } from 'node:child_process';
import { addMapping } from '../../../functions/cli/port-mapping.ts';
import { discoverRouter, type RouterFacts, routerIo } from '../../../functions/cli/router-discovery.ts';
import { GATEWAY, HOST_ADDRESS, HOST_V6, ROUTER_LINK_LOCAL } from './router-lab-addresses.ts';

interface Job {
  readonly router: string;
  readonly protocol: 'NAT-PMP' | 'PCP' | 'PCP6';
  readonly port: number;
}

// It asks 192.168.1.1 and SSDP's multicast group: only the lab's host namespace may hear them.
// Started in the root namespace (by hand, say), those would leave the machine by its default route.
const namespace = execFileSync('ip', ['netns', 'identify', String(process.pid)], { encoding: 'utf8' }).trim();
if (!namespace.startsWith('db-rtr-')) {
  process.stderr.write('map-runner runs only inside the router lab (ip netns exec <host> ...)\n');
  process.exit(2);
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const target = { port: job.port, protocol: 'tcp' } as const;
const v6 = job.protocol === 'PCP6';
const [gateway, client, chain] = v6
  ? [`${ROUTER_LINK_LOCAL}%eth0`, HOST_V6, 'miniupnpd']
  : [GATEWAY, HOST_ADDRESS, 'prerouting_miniupnpd'];
const forwards = (): string =>
  execFileSync('ip', ['netns', 'exec', job.router, 'nft', 'list', 'chain', 'inet', 'filter', chain], {
    encoding: 'utf8',
    timeout: 5000,
  });

const io = routerIo();
const found = await discoverRouter(io, gateway, client, target);
// Only the protocol under test is left for addMapping to choose.
const only: RouterFacts =
  job.protocol === 'NAT-PMP'
    ? { gateway: found.gateway, elapsedMs: 0, ...(found.natPmp ? { natPmp: found.natPmp } : {}) }
    : { gateway: found.gateway, elapsedMs: 0, ...(found.pcp ? { pcp: found.pcp } : {}) };
const made = await addMapping(io, only, target, client, false);
if ('failed' in made) {
  process.stdout.write(`${JSON.stringify({ failed: made.failed })}\n`);
} else {
  const during = forwards();
  const removed = await made.remove();
  process.stdout.write(
    `${JSON.stringify({ via: made.via, what: made.what, lifetimeSeconds: made.lifetimeSeconds, during, removed, after: forwards() })}\n`,
  );
}
