import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listenersOn, type ProcFiles } from '../../functions/cli/local-service.ts';
import { parseProcNet, procAddress, scopeOf } from '../../functions/cli/proc-net.ts';
import { defaultRoute, parseIpRouteGet, parseProcRoute, reachableGateway } from '../../functions/cli/route.ts';

/**
 * The tables were captured from this kernel with listeners on 127.0.0.1:48001, 0.0.0.0:48002
 * (plus one connection to it), [::]:48003, [::1]:48004, [::ffff:127.0.0.1]:48005,
 * 192.0.2.2:48006 and [::]:48007 (v6 only); UDP on 127.0.0.1:48101, [::]:48102, 0.0.0.0:48103.
 */
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const tables: Record<string, string> = Object.fromEntries(
  ['tcp', 'tcp6', 'udp', 'udp6'].map((t) => [`/proc/net/${t}`, fixture(`proc-net/${t}`)]),
);

describe('procAddress', () => {
  it.each([
    ['0100007F', '127.0.0.1'],
    ['00000000', '0.0.0.0'],
    ['020200C0', '192.0.2.2'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000001000000', '::1'],
    ['0000000000000000FFFF00000100007F', '::ffff:127.0.0.1'],
    ['B80D0120000000000000000002000000', '2001:db8::2'],
  ])('reads %s as %s', (hex, text) => {
    expect(procAddress(hex)).toBe(text);
  });

  it('refuses what is not an address', () => {
    expect(procAddress('0100007')).toBeUndefined();
    expect(procAddress('zz00007F')).toBeUndefined();
  });
});

describe('parseProcNet against tables captured from a real kernel', () => {
  it('lists the TCP listeners, skipping connected rows', () => {
    const v4 = parseProcNet(tables['/proc/net/tcp'] ?? '', 'tcp').map((s) => `${s.address}:${s.port}`);
    expect(v4).toEqual(expect.arrayContaining(['192.0.2.2:48006', '127.0.0.1:48001', '0.0.0.0:48002']));
    expect(v4.filter((a) => a.endsWith(':48002'))).toEqual(['0.0.0.0:48002']);
    const v6 = parseProcNet(tables['/proc/net/tcp6'] ?? '', 'tcp').map((s) => [s.address, s.port]);
    expect(v6).toEqual([
      ['::1', 48004],
      ['::ffff:127.0.0.1', 48005],
      ['::', 48003],
      ['::', 48007],
    ]);
  });

  it('lists bound UDP sockets with their inode and uid', () => {
    expect(parseProcNet(tables['/proc/net/udp'] ?? '', 'udp')).toEqual([
      { protocol: 'udp', address: '127.0.0.1', port: 48101, inode: 2689628, uid: 0 },
      { protocol: 'udp', address: '0.0.0.0', port: 48103, inode: 2689630, uid: 0 },
    ]);
    expect(parseProcNet(tables['/proc/net/udp6'] ?? '', 'udp')).toEqual([
      { protocol: 'udp', address: '::', port: 48102, inode: 2689629, uid: 0 },
    ]);
  });

  it('reads nothing from an empty or garbled table', () => {
    expect(parseProcNet('', 'tcp')).toEqual([]);
    expect(parseProcNet('header\nnot a row\n   0: XYZ:0050 00000000:0000 0A\n', 'tcp')).toEqual([]);
  });

  it.each([
    ['0.0.0.0', 'all'],
    ['::', 'all'],
    ['127.0.0.1', 'loopback'],
    ['127.0.1.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['192.0.2.2', 'specific'],
    ['2001:db8::2', 'specific'],
  ])('calls %s a bind on %s', (address, scope) => {
    expect(scopeOf(address)).toBe(scope);
  });
});

describe('listenersOn', () => {
  const proc = (extra: Record<string, string>, links: Record<string, string> = {}): ProcFiles => ({
    read: (path) => tables[path] ?? extra[path],
    list: (path) => (path === '/proc' ? ['self', '1', '42'] : path === '/proc/42/fd' ? ['0', '7'] : []),
    link: (path) => links[path],
  });

  it('finds every socket on the port across IPv4 and IPv6, and names the process that holds it', () => {
    const found = listenersOn(
      48005,
      'tcp',
      proc({ '/proc/42/comm': 'nginx\n' }, { '/proc/42/fd/7': 'socket:[2689623]' }),
    );
    expect(found).toEqual([
      {
        protocol: 'tcp',
        address: '::ffff:127.0.0.1',
        port: 48005,
        inode: 2689623,
        uid: 0,
        process: { pid: 42, name: 'nginx' },
      },
    ]);
  });

  it('leaves the process out when no readable fd names the socket', () => {
    expect(listenersOn(48002, 'tcp', proc({}))).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 48002, inode: 2689620, uid: 0 },
    ]);
  });

  it('says it could not look (undefined) on a system without the tables', () => {
    expect(listenersOn(80, 'tcp', { read: () => undefined, list: () => [], link: () => undefined })).toBeUndefined();
  });
});

describe('the default route', () => {
  it('reads `ip -j route get` as this machine printed it', () => {
    expect(parseIpRouteGet(fixture('route/ip-route-get.json'))).toEqual({
      source: '192.0.2.2',
      gateway: '192.0.2.1',
      device: 'eth0',
    });
    expect(parseIpRouteGet('RTNETLINK answers: Network is unreachable')).toBeUndefined();
  });

  it('reads the gateway of /proc/net/route as this machine wrote it', () => {
    expect(parseProcRoute(fixture('route/proc-net-route'))).toEqual({ device: 'eth0', gateway: '192.0.2.1' });
    expect(parseProcRoute('Iface\tDestination\n')).toBeUndefined();
  });

  it('falls back to /proc/net/route when ip is missing', () => {
    const route = defaultRoute(
      () => undefined,
      (path) => (path === '/proc/net/route' ? fixture('route/proc-net-route') : undefined),
    );
    expect(route).toEqual({ device: 'eth0', gateway: '192.0.2.1' });
  });

  it("reads IPv6's default route from ip -6 only (as the lab's host prints it), never from IPv4's /proc table", () => {
    const asked: string[][] = [];
    const json =
      '[{"dst":"2606:4700:4700::1111","from":"::","gateway":"2001:db8:1::1","dev":"eth0","prefsrc":"2001:db8:1::20","metric":1024,"flags":[],"pref":"medium"}]';
    const run = (command: string, args: readonly string[]) => {
      asked.push([command, ...args]);
      return json;
    };
    expect(defaultRoute(run, () => fixture('route/proc-net-route'), 6)).toEqual({
      source: '2001:db8:1::20',
      gateway: '2001:db8:1::1',
      device: 'eth0',
    });
    expect(asked).toEqual([['ip', '-j', '-6', 'route', 'get', '2606:4700:4700::1111']]);
    expect(
      defaultRoute(
        () => undefined,
        () => fixture('route/proc-net-route'),
        6,
      ),
    ).toBeUndefined();
  });

  it('gives a link-local IPv6 gateway its interface, and leaves every other gateway as it is', () => {
    expect(reachableGateway({ gateway: 'fe80::1', device: 'eth0' })).toBe('fe80::1%eth0');
    expect(reachableGateway({ gateway: 'FEBF::1', device: 'wlan0' })).toBe('FEBF::1%wlan0');
    expect(reachableGateway({ gateway: 'fe80::1%eth1', device: 'eth0' })).toBe('fe80::1%eth1');
    expect(reachableGateway({ gateway: 'fec0::1', device: 'eth0' })).toBe('fec0::1');
    expect(reachableGateway({ gateway: '2001:db8:1::1', device: 'eth0' })).toBe('2001:db8:1::1');
    expect(reachableGateway({ gateway: '192.168.1.1', device: 'eth0' })).toBe('192.168.1.1');
    expect(reachableGateway({ gateway: 'fe80::1' })).toBe('fe80::1');
  });
});
