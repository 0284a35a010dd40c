/**
 * The doctor's router lab: a home network behind a real router daemon (Debian's miniupnpd,
 * nftables backend, UPnP IGD + NAT-PMP + PCP), in four chains that share one "Internet" and one
 * Dialback checker:
 *
 *   plain:  host 192.168.1.20 — router (miniupnpd) 11.0.1.2 ——————————————— checker 11.0.1.1
 *   cgnat:  host — router (miniupnpd) 100.64.0.2 — ISP NAT 11.0.2.2 ——————— checker 11.0.2.1
 *   double: host — router (miniupnpd) 10.0.0.2   — ISP NAT (same) —————————— checker
 *   silent: host — router (no daemon)  11.0.4.2 ——————————————————————————— checker 11.0.4.1
 *
 * miniupnpd refuses a reserved WAN address (198.18.0.0/15 included), so the Internet side is
 * numbered from 11.0.0.0/8: allowed only because no namespace here has a link to the root
 * namespace (every veth is created with both ends inside lab namespaces), which `isolation()`
 * lets the test assert before anything starts. The plain chain also has IPv6 (2001:db8::/32,
 * routed, no NAT), and its miniupnpd runs with IPv6 on, so it opens IGDv2 and PCP pinholes in
 * its `miniupnpd` forward chain. Everything started is stopped by PID and every namespace
 * deleted in `destroy()`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NsProcess, sh, startInNamespace, uniqueSuffix } from '../netns.ts';
import { DIALBACK_PORT, LAB_SERVER_ENV, serverCommand } from './dialback.ts';
import { GATEWAY, HOST_ADDRESS, HOST_V6, ROUTER_LAN_V6, ROUTER_LINK_LOCAL } from './router-lab-addresses.ts';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The names of the chains, one per kind of path to the Internet. */
export type ChainName = 'plain' | 'cgnat' | 'double' | 'silent';

/** The lab's addresses, for the tests that read them from the lab. */
export {
  API_V6,
  ELSEWHERE,
  GATEWAY,
  HOST_ADDRESS,
  HOST_V6,
  ROUTER_LAN_V6,
  ROUTER_LINK_LOCAL,
} from './router-lab-addresses.ts';

/** One home network: the user's machine and its router. */
export interface Chain {
  readonly host: string;
  readonly router: string;
  /** The router's WAN address. */
  readonly wan: string;
  /** The address the checker sees this network's connections come from. */
  readonly seenAs: string;
  /** Dialback as the host reaches it. */
  readonly api: string;
  /** The router's daemon, when it runs one. */
  readonly miniupnpd?: NsProcess;
}

/** The whole lab. */
export interface RouterLab {
  readonly checker: string;
  readonly isp: string;
  readonly chains: Readonly<Record<ChainName, Chain>>;
  /** Every namespace the lab made. */
  readonly namespaces: readonly string[];
  /** Runs a command in a lab namespace. */
  exec(ns: string, args: readonly string[], input?: string, timeoutMs?: number): Promise<string>;
  /** Starts the router daemons and Dialback (after the test has checked isolation). */
  start(): Promise<void>;
  /** Stops what was started, by PID, and deletes every namespace; safe to call twice. */
  destroy(): Promise<void>;
}

/** A router that NATs its LAN out of its WAN (IPv4 only: IPv6 is routed), forwards nothing inbound but what miniupnpd adds. */
const routerRuleset = (lan: string, wan: string): string => `table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${lan}" oifname "${wan}" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "${wan}" meta nfproto ipv4 masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}`;

/**
 * miniupnpd's settings: UPnP IGD and NAT-PMP/PCP on the LAN side, forwards for the LAN only;
 * with `v6` (the plain chain) also IPv6 pinholes, which it adds to the same `miniupnpd` chain.
 */
const miniupnpdConf = (lan: string, wan: string, uuid: string, v6?: string): string => `ext_ifname=${wan}
listening_ip=${lan}
${v6 === undefined ? '' : `ext_ifname6=${wan}\n`}http_port=5000
enable_upnp=yes
enable_natpmp=yes
secure_mode=no
system_uptime=yes
uuid=${uuid}
allow 1024-65535 192.168.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`;

/**
 * Builds every namespace and link (nothing started yet): `start()` starts the daemons and
 * Dialback once the test has seen the lab is isolated.
 */
export async function buildRouterLab(label: string): Promise<RouterLab> {
  const id = uniqueSuffix();
  const name = (role: string): string => `db-${label}-${role}-${id}`.slice(0, 30);
  const made: string[] = [];
  const processes: NsProcess[] = [];
  const dir = await mkdtemp(join(os.tmpdir(), 'dialback-router-lab-'));
  const exec = (ns: string, args: readonly string[], input?: string, timeoutMs?: number): Promise<string> =>
    sh('ip', ['netns', 'exec', ns, ...args], input, timeoutMs);
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all(processes.map((p) => p.stop()));
    for (const ns of made) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const addNs = async (role: string): Promise<string> => {
    const ns = name(role);
    await sh('ip', ['netns', 'add', ns]);
    made.push(ns);
    await exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  };
  /** A veth pair created with each end already inside its namespace: neither end ever exists in the root one. */
  let links = 0;
  const link = async (a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string): Promise<void> => {
    links += 1;
    const tmpA = `dbr${links}a${id}`;
    const tmpB = `dbr${links}b${id}`;
    await sh('ip', ['link', 'add', tmpA, 'netns', a, 'type', 'veth', 'peer', 'name', tmpB, 'netns', b]);
    for (const [ns, tmp, dev, addr] of [
      [a, tmpA, aIf, aAddr],
      [b, tmpB, bIf, bAddr],
    ] as const) {
      await exec(ns, ['ip', 'link', 'set', tmp, 'name', dev]);
      await exec(ns, ['ip', 'addr', 'add', addr, 'dev', dev]);
      await exec(ns, ['ip', 'link', 'set', dev, 'up']);
    }
  };
  const forwarding = (ns: string) => exec(ns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
  try {
    const checker = await addNs('k');
    const isp = await addNs('isp');
    await forwarding(isp);
    await link(checker, 'isp', '11.0.2.1/24', isp, 'wan0', '11.0.2.2/24');
    await exec(isp, ['ip', 'route', 'add', 'default', 'via', '11.0.2.1']);
    // The ISP's carrier-grade NAT (and the first router of a double NAT): its customers share 11.0.2.2.
    await exec(
      isp,
      ['nft', '-f', '-'],
      'table ip nat {\n  chain post {\n    type nat hook postrouting priority 100;\n    oifname "wan0" masquerade\n  }\n}\n',
    );

    const wans: Record<ChainName, { wan: string; peer: string; upstream: string; seenAs: string; api: string }> = {
      plain: { wan: '11.0.1.2', peer: '11.0.1.1', upstream: checker, seenAs: '11.0.1.2', api: '11.0.1.1' },
      cgnat: { wan: '100.64.0.2', peer: '100.64.0.1', upstream: isp, seenAs: '11.0.2.2', api: '11.0.2.1' },
      double: { wan: '10.0.0.2', peer: '10.0.0.1', upstream: isp, seenAs: '11.0.2.2', api: '11.0.2.1' },
      silent: { wan: '11.0.4.2', peer: '11.0.4.1', upstream: checker, seenAs: '11.0.4.2', api: '11.0.4.1' },
    };
    const chains = {} as Record<ChainName, Chain>;
    for (const [chainName, w] of Object.entries(wans) as Array<[ChainName, (typeof wans)[ChainName]]>) {
      const host = await addNs(`h${chainName.slice(0, 2)}`);
      const router = await addNs(`r${chainName.slice(0, 2)}`);
      await forwarding(router);
      await link(host, 'eth0', `${HOST_ADDRESS}/24`, router, 'lan0', `${GATEWAY}/24`);
      await exec(host, ['ip', 'route', 'add', 'default', 'via', GATEWAY]);
      await link(router, 'wan0', `${w.wan}/24`, w.upstream, `to${chainName.slice(0, 3)}`, `${w.peer}/24`);
      await exec(router, ['ip', 'route', 'add', 'default', 'via', w.peer]);
      await exec(router, ['nft', '-f', '-'], `${routerRuleset('lan0', 'wan0')}\n`);
      chains[chainName] = { host, router, wan: w.wan, seenAs: w.seenAs, api: `http://${w.api}:${DIALBACK_PORT}` };
    }
    await addIpv6(exec, chains.plain, checker);

    const start = async (): Promise<void> => {
      const dialback = startInNamespace(
        checker,
        // '::' is dual-stack: the IPv4 chains and the plain chain's IPv6 reach the same server.
        await serverCommand('::', DIALBACK_PORT),
        { env: { CHECKED_FROM: 'lab', ...LAB_SERVER_ENV }, cwd: REPO_ROOT },
      );
      processes.push(dialback);
      const daemons = (['plain', 'cgnat', 'double'] as const).map((chainName, i) => {
        const chain = chains[chainName];
        const conf = join(dir, `${chainName}.conf`);
        const uuid = `3d3cec3a-8cf0-11e0-98ee-00000000000${i}`;
        // The plain chain speaks IPv6 too (pinholes); the others are IPv4 only (-4), as their scenarios are.
        const v6 = chainName === 'plain' ? ROUTER_LAN_V6 : undefined;
        return writeFile(conf, miniupnpdConf('lan0', 'wan0', uuid, v6)).then(async () => {
          const daemon = startInNamespace(chain.router, [
            'miniupnpd',
            ...(v6 === undefined ? ['-4'] : []),
            '-d',
            '-f',
            conf,
            '-P',
            join(dir, `${chainName}.pid`),
          ]);
          processes.push(daemon);
          await daemon.waitFor('Listening for NAT-PMP/PCP traffic', 10_000);
          chains[chainName] = { ...chain, miniupnpd: daemon };
        });
      });
      await Promise.all([...daemons, dialback.waitFor('Dialback listening on', 60_000)]);
    };

    return { checker, isp, chains, namespaces: made, exec, start, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/**
 * Gives the plain chain IPv6 (documentation addresses; no NAT): the host 2001:db8:1::20 on the
 * LAN with its default route via the router's link-local fe80::1 (as home routers advertise
 * it), the router 2001:db8:11::2 towards the checker 2001:db8:11::1. The router's inet forward
 * chain (policy drop, LAN-to-WAN and replies only) is its IPv6 firewall too, so inbound is dropped.
 */
async function addIpv6(
  exec: (ns: string, args: readonly string[]) => Promise<string>,
  plain: Chain,
  checker: string,
): Promise<void> {
  const add = (ns: string, address: string, dev: string) =>
    exec(ns, ['ip', '-6', 'addr', 'add', address, 'dev', dev, 'nodad']);
  await exec(plain.router, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/all/forwarding']);
  await add(plain.host, `${HOST_V6}/64`, 'eth0');
  await add(plain.router, `${ROUTER_LAN_V6}/64`, 'lan0');
  // Its only link-local address, as a router's usually is: the one its answers on the LAN come from.
  await exec(plain.router, ['ip', '-6', 'addr', 'flush', 'dev', 'lan0', 'scope', 'link']);
  await add(plain.router, `${ROUTER_LINK_LOCAL}/64`, 'lan0');
  await add(plain.router, '2001:db8:11::2/64', 'wan0');
  await add(checker, '2001:db8:11::1/64', 'topla');
  await exec(plain.host, ['ip', '-6', 'route', 'add', 'default', 'via', ROUTER_LINK_LOCAL, 'dev', 'eth0']);
  await exec(plain.router, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:11::1']);
  await exec(checker, ['ip', '-6', 'route', 'add', '2001:db8:1::/64', 'via', '2001:db8:11::2']);
}

/** The root namespace's interface names, taken before a lab exists: its routes' ways out. */
export async function rootInterfaces(): Promise<string[]> {
  const links = JSON.parse(await sh('ip', ['-j', 'link', 'show'])) as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).sort();
}

/**
 * The root namespace's interfaces whose other end is in one of `namespaces`: a lab that links to
 * the root would have one. Other tests' links into namespaces of their own do not count, so the
 * check holds while they run beside the lab.
 */
export async function rootLinksInto(namespaces: readonly string[]): Promise<string[]> {
  const links = JSON.parse(await sh('ip', ['-j', '-d', 'link', 'show'])) as Array<{
    ifname: string;
    link_netnsid?: number;
  }>;
  // The root's ids for the namespaces it links to; named ones carry their `ip netns` name.
  const ids = JSON.parse((await sh('ip', ['-j', 'netns', 'list-id'])) || '[]') as Array<{
    nsid: number;
    name?: string;
  }>;
  const ours = new Set(ids.filter((n) => n.name !== undefined && namespaces.includes(n.name)).map((n) => n.nsid));
  return links.filter((l) => l.link_netnsid !== undefined && ours.has(l.link_netnsid)).map((l) => l.ifname);
}

/** Each lab namespace's interfaces other than loopback, with whether each is a veth whose peer is elsewhere. */
export async function labInterfaces(
  lab: RouterLab,
): Promise<Array<{ ns: string; ifname: string; peerNetns: boolean }>> {
  const all = await Promise.all(
    lab.namespaces.map(async (ns) => {
      const links = JSON.parse(await lab.exec(ns, ['ip', '-j', '-d', 'link', 'show'])) as Array<{
        ifname: string;
        link_netnsid?: number;
      }>;
      return links
        .filter((l) => l.ifname !== 'lo')
        .map((l) => ({ ns, ifname: l.ifname, peerNetns: l.link_netnsid !== undefined }));
    }),
  );
  return all.flat();
}
