/**
 * Runs in the router lab's host namespace (a child process, as the doctor does): asks the real
 * router for a forward over one protocol only (NAT-PMP or PCP; UPnP is what `doctor --map`
 * picks first, so these two are only reached here), reads the router's own nftables forward
 * rules while the forward is held, removes it, and reads them again. Prints one JSON line.
 * Usage: map-runner.ts '{"router":"<router netns>","protocol":"NAT-PMP","port":41101}'
 */
import { execFileSync } from 'node:child_process';
import { addMapping } from '../../../functions/cli/port-mapping.ts';
import { discoverRouter, type RouterFacts, routerIo } from '../../../functions/cli/router-discovery.ts';
import { GATEWAY, HOST_ADDRESS } from './router-lab.ts';

interface Job {
  readonly router: string;
  readonly protocol: 'NAT-PMP' | 'PCP';
  readonly port: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const target = { port: job.port, protocol: 'tcp' } as const;
const forwards = (): string =>
  execFileSync('ip', ['netns', 'exec', job.router, 'nft', 'list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd'], {
    encoding: 'utf8',
    timeout: 5000,
  });

const io = routerIo();
const found = await discoverRouter(io, GATEWAY, HOST_ADDRESS, target);
// Only the protocol under test is left for addMapping to choose.
const only: RouterFacts =
  job.protocol === 'NAT-PMP'
    ? { gateway: found.gateway, elapsedMs: 0, ...(found.natPmp ? { natPmp: found.natPmp } : {}) }
    : { gateway: found.gateway, elapsedMs: 0, ...(found.pcp ? { pcp: found.pcp } : {}) };
const made = await addMapping(io, only, target, HOST_ADDRESS, false);
if ('failed' in made) {
  process.stdout.write(`${JSON.stringify({ failed: made.failed })}\n`);
} else {
  const during = forwards();
  const removed = await made.remove();
  process.stdout.write(
    `${JSON.stringify({ via: made.via, lifetimeSeconds: made.lifetimeSeconds, during, removed, after: forwards() })}\n`,
  );
}
