/**
 * `dialback doctor` against a real router daemon: Debian's miniupnpd (UPnP IGD, NAT-PMP, PCP,
 * nftables backend) in a namespace between the user's machine and a Dialback checker, behind
 * nothing, behind a carrier-grade NAT or a second router, and a router that speaks none of the
 * protocols (test/support/lab/router-lab.ts), and over IPv6, where --map opens a pinhole in the
 * router's firewall rather than a forward. Each scenario runs the repo CLI in the host's
 * namespace in --json and in text, and is held against what the lab built (the router's own
 * nftables rules, miniupnpc's view of its forwards, the addresses on its interfaces), not
 * against fixtures. The links on the machine itself (bound to loopback, nothing listening, a
 * host firewall that drops or rejects) run here too, behind a working forward, so the doctor
 * must stop at them whatever the router does; the firewall judge's rule-by-rule cases are
 * test/lab/doctor-firewall.test.ts's.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { BlockList } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressBytes } from '../../functions/cli/pcp.ts';
import { line, reportOf, statusOf } from '../support/doctor-output.ts';
import { bundledScript, standaloneCliScript } from '../support/lab/bundled-script.ts';
import { runCliIn } from '../support/lab/dialback.ts';
import {
  API_V6,
  buildRouterLab,
  type ChainName,
  ELSEWHERE,
  GATEWAY,
  HOST_ADDRESS,
  HOST_V6,
  labInterfaces,
  ROUTER_LAN_V6,
  ROUTER_LINK_LOCAL,
  type RouterLab,
  rootInterfaces,
  rootLinksInto,
} from '../support/lab/router-lab.ts';
import { sh, startInNamespace } from '../support/netns.ts';
import { skipReason } from '../support/requirements.ts';

const skip = await skipReason('doctor router lab tests', ['root', 'ip', 'nft', 'miniupnpd', 'upnpc']);

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The doctor's budget for the router (2 s) plus a check that times out (1.5 s) plus Node's start. */
const DOCTOR_MS = 15_000;

let lab: RouterLab;
let rootBefore: string[];

/** Runs `dialback doctor PORT --api <chain's checker> ...extra` in the chain's host namespace. */
async function doctor(chain: ChainName, port: number, extra: readonly string[] = []) {
  const { host, api } = lab.chains[chain];
  return runCliIn({ exec: (args, input, ms) => lab.exec(host, args, input, ms ?? DOCTOR_MS) }, [
    'doctor',
    String(port),
    '--api',
    api,
    ...extra,
  ]);
}

/** Asks the router for a forward of `port` to `client` with miniupnpc (a second, independent UPnP client). */
async function upnpcForward(chain: ChainName, client: string, port: number): Promise<void> {
  const out = await lab.exec(lab.chains[chain].host, [
    'upnpc',
    '-u',
    `http://${GATEWAY}:5000/rootDesc.xml`,
    '-a',
    client,
    String(port),
    String(port),
    'TCP',
  ]);
  expect(out).toContain(`external ${lab.chains[chain].wan}:${port} TCP is redirected to internal ${client}:${port}`);
}

/** The router's own DNAT rules for `port`, as its nftables holds them ("to 192.168.1.20:41031"). */
async function routerForwards(chain: ChainName, port: number): Promise<string[]> {
  const ruleset = await lab.exec(lab.chains[chain].router, [
    'nft',
    'list',
    'chain',
    'inet',
    'filter',
    'prerouting_miniupnpd',
  ]);
  return ruleset
    .split('\n')
    .filter((l) => l.includes(`dport ${port} `))
    .map((l) => /dnat ip to (\S+)/.exec(l)?.[1] ?? l.trim());
}

/** The router's IPv6 pinholes for `port` to the host, as its nftables holds them (miniupnpd matches the address as raw bytes). */
async function routerPinholes(port: number): Promise<string[]> {
  const chain = await lab.exec(lab.chains.plain.router, ['nft', 'list', 'chain', 'inet', 'filter', 'miniupnpd']);
  const host = `0x${Buffer.from(addressBytes(HOST_V6)).toString('hex')}`;
  return chain.split('\n').filter((l) => l.includes(`dport ${port} `) && l.includes(host) && l.includes('accept'));
}

/** Runs one scenario in --json and in text (two ports, so both run at once), and returns both; `v6`: over IPv6. */
async function both(chain: ChainName, port: number, extra: readonly string[] = [], v6 = false) {
  const run = v6 ? doctor6 : (p: number, e: readonly string[]) => doctor(chain, p, e);
  const [json, text] = await Promise.all([run(port, [...extra, '--json']), run(port + 1, extra)]);
  return { json: { code: json.code, report: reportOf(json.out) }, text };
}

/** Runs `dialback doctor PORT -6` against the checker's IPv6 address from the plain chain's host. */
function doctor6(port: number, extra: readonly string[]) {
  return runCliIn({ exec: (args, input, ms) => lab.exec(lab.chains.plain.host, args, input, ms ?? DOCTOR_MS) }, [
    'doctor',
    String(port),
    '-6',
    '--api',
    API_V6,
    ...extra,
  ]);
}

describe.runIf(skip === undefined)('dialback doctor against a real miniupnpd router', () => {
  beforeAll(async () => {
    rootBefore = await rootInterfaces();
    lab = await buildRouterLab('rtr');
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  // First, before anything starts: the lab's 11.0.0.0/8 "Internet" must be unreachable from, and
  // unconnected to, the root namespace (the rule that lets the lab use addresses outside 198.18/15).
  it('is isolated: no interface added to the root namespace, every lab link a veth between lab namespaces', async () => {
    expect(await rootLinksInto(lab.namespaces)).toEqual([]);
    const links = await labInterfaces(lab);
    // Both ends of each of the 9 links (4 LANs, 4 router uplinks, the ISP's uplink), all inside the lab.
    expect(links.length).toBe(2 * 9);
    for (const l of links) expect(l, `${l.ns} ${l.ifname}`).toMatchObject({ peerNetns: true });
    // A lookup in the root's route table (it sends nothing).
    const rootRoute = JSON.parse(await sh('ip', ['-j', 'route', 'get', '11.0.1.1'])) as Array<{ dev: string }>;
    // The root namespace would send 11.0.1.1 out of one of its own interfaces, never into the lab.
    expect(rootBefore).toContain(rootRoute[0]?.dev);
    await lab.start();
  }, 90_000);

  describe.concurrent('scenarios', () => {
    it('open end to end through a forward: every link holds, the answer is proven, exit 0', async ({ expect }) => {
      await upnpcForward('plain', HOST_ADDRESS, 41001);
      await upnpcForward('plain', HOST_ADDRESS, 41002);
      expect(await routerForwards('plain', 41001)).toEqual([`${HOST_ADDRESS}:41001`]);
      const { json, text } = await both('plain', 41001);
      expect(json.code).toBe(0);
      expect(json.report.verdict).toMatchObject({ status: 'open', step: 'outside' });
      expect(json.report.steps.map((s) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      expect(statusOf(json.report, 'router')?.evidence).toBe(
        `The router (UPnP IGD, NAT-PMP and PCP, external address ${lab.chains.plain.wan}) forwards 41001/tcp to ${HOST_ADDRESS}:41001, this machine.`,
      );
      expect(statusOf(json.report, 'nat')?.evidence).toBe(
        `One NAT: the router's external address is ${lab.chains.plain.seenAs}, the address the API saw.`,
      );
      expect(json.report.check?.ip).toBe(lab.chains.plain.seenAs);
      expect(text.code).toBe(0);
      expect(line(text.out, 'Router')).toMatch(
        /^✔ Router +.*forwards 41002\/tcp to 192\.168\.1\.20:41002, this machine\.$/,
      );
      expect(text.out).toContain('Open: 41002/tcp answered from outside, and it was this machine.');
    });

    it('no forward: the router is the first broken link, and --map is offered', async ({ expect }) => {
      expect(await routerForwards('plain', 41011)).toEqual([]);
      const { json, text } = await both('plain', 41011);
      expect(json.code).toBe(1);
      expect(json.report.verdict).toMatchObject({ status: 'broken', step: 'router' });
      expect(statusOf(json.report, 'router')).toMatchObject({
        status: 'broken',
        evidence: `The router (UPnP IGD, NAT-PMP and PCP, external address ${lab.chains.plain.wan}) has no forward for 41011/tcp.`,
      });
      expect(json.report.verdict.next).toContain('`dialback doctor 41011 --map`');
      // The router's own kernel answers: nothing listens there on that port.
      expect(json.report.check?.results[0]).toMatchObject({ state: 'closed' });
      expect(text.code).toBe(1);
      expect(line(text.out, 'Router')).toMatch(/^✘ Router +.*has no forward for 41012\/tcp\.$/);
      expect(text.out).toContain('Broken at: router.');
    });

    it('a forward to the wrong LAN address: names it and this machine', async ({ expect }) => {
      await upnpcForward('plain', ELSEWHERE, 41021);
      await upnpcForward('plain', ELSEWHERE, 41022);
      expect(await routerForwards('plain', 41021)).toEqual([`${ELSEWHERE}:41021`]);
      const { json, text } = await both('plain', 41021);
      expect(json.code).toBe(1);
      expect(json.report.verdict).toMatchObject({ status: 'broken', step: 'router' });
      expect(statusOf(json.report, 'router')?.evidence).toContain(
        `forwards 41021/tcp to ${ELSEWHERE}; this machine is ${HOST_ADDRESS}`,
      );
      expect(statusOf(json.report, 'outside')?.status).toBe('broken');
      expect(line(text.out, 'Router')).toContain(`forwards 41022/tcp to ${ELSEWHERE}; this machine is ${HOST_ADDRESS}`);
      expect(text.out).toContain('Broken at: router.');
    });

    it('--map turns "no forward" into open, then leaves no forward on the router', async ({ expect }) => {
      const { json, text } = await both('plain', 41031, ['--map']);
      expect(json.code).toBe(0);
      expect(json.report.verdict.status).toBe('open');
      expect(statusOf(json.report, 'router')?.evidence).toContain(
        `--map: the doctor asked the router (UPnP IGD) to forward 41031/tcp to ${HOST_ADDRESS} for the check and removed it after the check.`,
      );
      expect(text.code).toBe(0);
      expect(text.out).toContain('Open: 41032/tcp answered from outside, and it was this machine.');
      // The router's own state, read two ways: its nftables rules and its UPnP list.
      expect(await routerForwards('plain', 41031)).toEqual([]);
      expect(await routerForwards('plain', 41032)).toEqual([]);
      const listed = await lab.exec(lab.chains.plain.host, [
        'upnpc',
        '-u',
        `http://${GATEWAY}:5000/rootDesc.xml`,
        '-l',
      ]);
      expect(listed).not.toMatch(/4103[12]->/);
    });

    it('--map where the port is already forwarded elsewhere: the router refuses, and the doctor says both', async ({
      expect,
    }) => {
      await upnpcForward('plain', ELSEWHERE, 41111);
      const run = await doctor('plain', 41111, ['--map', '--json']);
      const report = reportOf(run.out);
      expect(run.code).toBe(1);
      const router = statusOf(report, 'router');
      expect(router?.status).toBe('broken');
      expect(router?.evidence).toContain(`forwards 41111/tcp to ${ELSEWHERE}; this machine is ${HOST_ADDRESS}`);
      expect(router?.evidence).toMatch(
        /--map: the router refused a forward for 41111\/tcp: UPnP AddPortMapping: error \d+/,
      );
      // The router's forward is left as it was: the doctor never replaces one it did not make.
      expect(await routerForwards('plain', 41111)).toEqual([`${ELSEWHERE}:41111`]);
    });

    it('--map --keep leaves the forward, says for how long and how to remove it', async ({ expect }) => {
      const run = await doctor('plain', 41033, ['--map', '--keep', '--json']);
      const report = reportOf(run.out);
      expect(run.code).toBe(0);
      expect(statusOf(report, 'router')?.evidence).toContain(
        'kept (--keep); it lapses after 7200 s, or remove it now with `upnpc -d 41033 TCP` (miniupnpc)',
      );
      expect(await routerForwards('plain', 41033)).toEqual([`${HOST_ADDRESS}:41033`]);
      await lab.exec(lab.chains.plain.host, [
        'upnpc',
        '-u',
        `http://${GATEWAY}:5000/rootDesc.xml`,
        '-d',
        '41033',
        'TCP',
      ]);
      expect(await routerForwards('plain', 41033)).toEqual([]);
    });

    it.for([
      ['forward', 41035, ['--api', 'http://11.0.1.99:8787']],
      ['IPv6 pinhole', 41037, ['-6', '--api', 'http://[2001:db8:11::99]:8787']],
    ] as const)('--map removes the %s when interrupted (SIGINT) while it holds it', async ([what, port, api], {
      expect,
    }) => {
      // An API address on the lab's Internet that nobody holds: the check waits on ARP (or IPv6's
      // neighbour discovery) for seconds, holding the forward or pinhole all that time.
      const held = (): Promise<string[]> => (what === 'forward' ? routerForwards('plain', port) : routerPinholes(port));
      const cli = startInNamespace(
        lab.chains.plain.host,
        [process.execPath, await standaloneCliScript(), 'doctor', String(port), '--map', ...api],
        { cwd: REPO_ROOT },
      );
      try {
        for (let i = 0; i < 100 && (await held()).length === 0; i++) await sleep(50);
        expect(await held()).toHaveLength(1);
        if (what === 'forward') expect(await held()).toEqual([`${HOST_ADDRESS}:${port}`]);
        process.kill(cli.pid, 'SIGINT');
        // waitFor rejects as soon as the process exits without printing the text.
        await expect(cli.waitFor('never printed', 5000)).rejects.toThrow(/exited before printing/);
        expect(await held()).toEqual([]);
      } finally {
        await cli.stop();
      }
    });

    it('the standalone dialback.mjs runs doctor --map with plain node from an empty directory', async ({ expect }) => {
      const dir = await mkdtemp(join(tmpdir(), 'dialback-standalone-'));
      try {
        await copyFile(await standaloneCliScript(), join(dir, 'dialback.mjs'));
        const out = await lab.exec(
          lab.chains.plain.host,
          [
            'sh',
            '-c',
            `cd '${dir}' && '${process.execPath}' dialback.mjs doctor 41071 --map --json --api ${lab.chains.plain.api}; echo "exit=$?"`,
          ],
          undefined,
          DOCTOR_MS,
        );
        expect(out).toMatch(/exit=0\s*$/);
        const report = reportOf(out.replace(/exit=\d+\s*$/, ''));
        expect(report.verdict.status).toBe('open');
        expect(statusOf(report, 'router')?.evidence).toContain('removed it after the check');
        expect(await routerForwards('plain', 41071)).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    // The links on this machine, behind a router that forwards the port here: the doctor stops at
    // the first of them, whatever the router does.
    it('a service bound to 127.0.0.1 behind a working forward: the bind address is the first broken link', async ({
      expect,
    }) => {
      const ports = [41121, 41122];
      for (const port of ports) await upnpcForward('plain', HOST_ADDRESS, port);
      const script = `const net=require('node:net');let n=0;for(const p of [${ports}])net.createServer(s=>s.destroy()).listen(p,'127.0.0.1',()=>{if(++n===${ports.length})console.log('listening')});`;
      const service = startInNamespace(lab.chains.plain.host, [process.execPath, '-e', script]);
      try {
        await service.waitFor('listening', DOCTOR_MS);
        const { json, text } = await both('plain', 41121);
        expect(json.code).toBe(1);
        expect(json.report.verdict).toMatchObject({ status: 'broken', step: 'bind' });
        expect(statusOf(json.report, 'service')?.status).toBe('ok');
        expect(statusOf(json.report, 'bind')).toMatchObject({
          status: 'broken',
          evidence: expect.stringContaining('127.0.0.1'),
        });
        expect(text.code).toBe(1);
        expect(line(text.out, 'Bind address')).toMatch(/^✘ Bind address +.*127\.0\.0\.1/);
        expect(text.out).toContain('Broken at: bind address.');
      } finally {
        await service.stop();
      }
    });

    it('nothing listening behind a working forward: the doctor listens itself, and the path is proven open', async ({
      expect,
    }) => {
      for (const port of [41131, 41132]) await upnpcForward('plain', HOST_ADDRESS, port);
      const { json, text } = await both('plain', 41131);
      expect(json.code).toBe(0);
      expect(json.report.verdict).toMatchObject({ status: 'open', step: 'outside' });
      expect(statusOf(json.report, 'service')?.evidence).toContain('the doctor listened on it itself');
      expect(json.report.check?.results[0]).toMatchObject({ state: 'open' });
      expect(text.code).toBe(0);
      expect(text.out).toContain('Open: 41132/tcp answered from outside, and it was this machine.');
    });

    it.for([
      ['drop', 'drop', 41141, 'filtered'],
      ['reject', 'reject', 41151, 'closed'],
    ] as const)('the host firewall rules %s behind a working forward: the firewall is the first broken link', async ([
      ,
      rule,
      port,
      state,
    ], { expect }) => {
      const ports = [port, port + 1];
      for (const p of ports) await upnpcForward('plain', HOST_ADDRESS, p);
      // A table of its own (no flush): the scenarios beside this one share the host's namespace.
      const table = `hostfw${port}`;
      await lab.exec(
        lab.chains.plain.host,
        ['nft', '-f', '-'],
        `table inet ${table} {
  chain input { type filter hook input priority 0; policy accept; tcp dport { ${ports.join(', ')} } ${rule}; }
}
`,
      );
      try {
        const { json, text } = await both('plain', port);
        expect(json.code).toBe(1);
        expect(json.report.verdict).toMatchObject({ status: 'broken', step: 'firewall' });
        expect(statusOf(json.report, 'firewall')).toMatchObject({
          status: 'broken',
          evidence: expect.stringContaining(String(port)),
        });
        // What the kernel did with the check's SYNs, seen from outside.
        expect(json.report.check?.results[0]).toMatchObject({ state });
        expect(text.code).toBe(1);
        expect(line(text.out, 'Host firewall')).toMatch(/^✘ Host firewall/);
        expect(text.out).toContain('Broken at: host firewall.');
      } finally {
        await lab.exec(lab.chains.plain.host, ['nft', 'delete', 'table', 'inet', table]);
      }
    });

    it("IPv6 through a router whose firewall drops inbound: no NAT, the router's IPv6 firewall is the link", async ({
      expect,
    }) => {
      // What the lab built: the router's forward chain (its IPv6 firewall too) drops by default.
      const forward = await lab.exec(lab.chains.plain.router, ['nft', 'list', 'chain', 'inet', 'filter', 'forward']);
      expect(forward).toContain('policy drop;');
      const { json, text } = await both('plain', 41091, [], true);
      const { report } = json;
      expect(json.code).toBe(1);
      expect(report.check?.ip).toBe(HOST_V6);
      expect(report.check?.results[0]).toMatchObject({ state: 'filtered' });
      expect(statusOf(report, 'nat')).toMatchObject({
        status: 'ok',
        evidence: expect.stringContaining('No NAT: the check went over IPv6'),
      });
      expect(report.verdict).toMatchObject({ status: 'broken', step: 'router' });
      expect(report.verdict.next).toBe(
        `Allow inbound 41091/tcp to ${HOST_V6} in the router's IPv6 firewall (often under "IPv6 firewall", "pinholes" or "allow inbound"), and run the doctor again.`,
      );
      expect(text.code).toBe(1);
      expect(line(text.out, 'Router')).toMatch(/^\? Router +The check went over IPv6/);
      expect(text.out).toContain('Broken at: router.');
    });

    it.for([
      ['--map', 41161, false],
      ['--map --keep', 41171, true],
    ] as const)("IPv6 %s: a pinhole in the router's firewall turns the dropped inbound open", async ([, port, keep], {
      expect,
    }) => {
      // What the lab built: the host knows its IPv6 router by its link-local address only, as at home.
      const route = await lab.exec(lab.chains.plain.host, ['ip', '-6', 'route', 'show', 'default']);
      expect(route).toContain(`via ${ROUTER_LINK_LOCAL} dev eth0`);
      const { json, text } = await both('plain', port, keep ? ['--map', '--keep'] : ['--map'], true);
      expect(json.code, JSON.stringify(json.report)).toBe(0);
      expect(json.report.check?.ip).toBe(HOST_V6);
      expect(json.report.check?.results[0]).toMatchObject({ state: 'open' });
      expect(json.report.verdict).toMatchObject({ status: 'open' });
      const router = statusOf(json.report, 'router');
      expect(router?.status).toBe('ok');
      expect(router?.evidence).toContain(
        `asked the router (UPnP IGD) to open an IPv6 pinhole for ${port}/tcp to ${HOST_V6} for the check and`,
      );
      expect(text.code).toBe(0);
      expect(line(text.out, 'Router')).toMatch(/^✔ Router +.*IPv6 pinhole/);
      if (!keep) {
        expect(router?.evidence).toContain('removed it after the check');
        // Held against the router's own firewall: neither run left its pinhole behind.
        expect(await routerPinholes(port)).toEqual([]);
        expect(await routerPinholes(port + 1)).toEqual([]);
        return;
      }
      expect(router?.evidence).toContain('kept (--keep); it lapses after 7200 s, or remove it now with `upnpc -6 -D');
      for (const p of [port, port + 1]) expect(await routerPinholes(p)).toHaveLength(1);
      // The removal the doctor advises works: miniupnpc, over IPv6, with the pinhole's id.
      const id = /upnpc -6 -D (\d+)/.exec(router?.evidence ?? '')?.[1] ?? 'none';
      await lab.exec(lab.chains.plain.host, [
        'upnpc',
        '-6',
        '-u',
        `http://[${ROUTER_LAN_V6}]:5000/rootDesc.xml`,
        '-D',
        id,
      ]);
      expect(await routerPinholes(port)).toEqual([]);
    });

    it.for([
      ['cgnat', '100.64.0.0', 10, 41041],
      ['double', '10.0.0.0', 8, 41051],
    ] as const)('%s: another NAT in front of the router is the first broken link', async ([chain, net, bits, port], {
      expect,
    }) => {
      // What the lab built: the router's WAN address is in `range`, and the checker sees the ISP's.
      const wan = JSON.parse(
        await lab.exec(lab.chains[chain].router, ['ip', '-j', '-4', 'addr', 'show', 'wan0']),
      ) as Array<{
        addr_info: Array<{ local: string }>;
      }>;
      expect(wan[0]?.addr_info[0]?.local).toBe(lab.chains[chain].wan);
      const range = new BlockList();
      range.addSubnet(net, bits);
      expect(range.check(lab.chains[chain].wan)).toBe(true);
      const { json, text } = await both(chain, port);
      expect(json.code).toBe(1);
      expect(json.report.check?.ip).toBe(lab.chains[chain].seenAs);
      expect(json.report.verdict).toMatchObject({ status: 'broken', step: 'nat' });
      expect(statusOf(json.report, 'nat')?.evidence).toMatch(
        new RegExp(
          `^Another NAT is in front of the router: it answers but reports no usable external address \\(UPnP: an empty external address; NAT-PMP: network failure .*the Internet sees ${lab.chains[chain].seenAs.replaceAll('.', '\\.')}\\.`,
        ),
      );
      // The router's missing forward is not the first thing to fix behind another NAT.
      expect(statusOf(json.report, 'router')?.status).toBe('unknown');
      expect(text.code).toBe(1);
      expect(line(text.out, 'NAT layers')).toMatch(/^✘ NAT layers +Another NAT is in front of the router/);
      expect(text.out).toContain('Broken at: nat layers.');
    });

    it('a router that speaks none of the protocols: ? within the budget, and where to look', async ({ expect }) => {
      const listening = await lab.exec(lab.chains.silent.router, ['ss', '-Hlun']);
      expect(listening).not.toMatch(/:5351\b|:1900\b/);
      // `doctor` fails the test if a run outlives DOCTOR_MS; the budget itself is measured by the bench.
      const { json, text } = await both('silent', 41061);
      expect(json.code).toBe(1);
      expect(statusOf(json.report, 'router')).toMatchObject({
        status: 'unknown',
        evidence: `The gateway ${GATEWAY} answered none of UPnP IGD, NAT-PMP or PCP within 2 s, so the doctor cannot see its forwards.`,
      });
      expect(json.report.verdict).toMatchObject({ status: 'broken', step: 'router' });
      expect(json.report.verdict.next).toContain(`usually http://${GATEWAY}/`);
      expect(line(text.out, 'Router')).toMatch(/^\? Router +The gateway 192\.168\.1\.1 answered none/);
      expect(text.out).toContain('Broken at: router.');
    });
  });

  // One client at a time. Once, in a fresh-clone run under load, PCP6's removal went unconfirmed
  // and the pinhole stayed while the concurrent -6 --map scenarios were adding and removing
  // theirs. miniupnpd's PCP removal (pcpserver.c, DeletePCPMap) walks the pinholes in order and
  // its loop ends at the first one it cannot read: the likely cause, not a proven one; its log
  // is printed if it happens again. A home network has one doctor at a time.
  describe('a protocol of its own, one client at a time', () => {
    it.for([
      'NAT-PMP',
      'PCP',
      'PCP6',
    ] as const)('%s: a forward made and removed over it, as the router records it', async (protocol, { expect }) => {
      const port = { 'NAT-PMP': 41101, PCP: 41102, PCP6: 41103 }[protocol];
      const out = await lab.exec(lab.chains.plain.host, [
        process.execPath,
        await bundledScript(`${REPO_ROOT}test/support/lab/map-runner.ts`),
        JSON.stringify({ router: lab.chains.plain.router, protocol, port }),
      ]);
      const result = JSON.parse(out) as {
        via?: string;
        lifetimeSeconds?: number;
        during?: string;
        removed?: boolean;
        after?: string;
        failed?: string;
      };
      const v6 = protocol === 'PCP6';
      // miniupnpd's own account (it runs with -d), for a run where the router did not do as asked.
      const routerLog = lab.chains.plain.miniupnpd?.stderr().slice(-3000) ?? '';
      expect(result, `${out}\nminiupnpd:\n${routerLog}`).toMatchObject({
        via: v6 ? 'PCP' : protocol,
        what: v6 ? 'pinhole' : 'forward',
        removed: true,
      });
      expect(result.lifetimeSeconds).toBeGreaterThan(0);
      const held = v6
        ? new RegExp(`dport ${port} @nh,192,128 0x${Buffer.from(addressBytes(HOST_V6)).toString('hex')} .*accept`)
        : new RegExp(`dport ${port} dnat ip to ${HOST_ADDRESS.replaceAll('.', '\\.')}:${port}`);
      expect(result.during).toMatch(held);
      expect(result.after).not.toContain(`dport ${port} `);
    });
  });
});
