/**
 * The connect guard every test file runs behind (support/guard-setup.ts): each way Node can
 * send, in each of its call forms, is refused before a packet leaves unless it goes to
 * loopback, the lab's ranges or a unix socket.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { lookup, Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  datagramHost,
  guardOutboundConnections,
  mayReach,
  netConnectHost,
  OutsideTraffic,
} from '../support/connect-guard.ts';

const OUTSIDE = '192.0.2.1';

describe('mayReach', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
    '198.18.0.1',
    '198.19.255.254',
    '2001:db8::1',
    'localhost',
  ])('allows %s', (host) => {
    expect(mayReach(host)).toBe(true);
  });

  it.each([
    OUTSIDE,
    '203.0.113.7',
    '198.51.100.1',
    '198.20.0.1',
    '10.0.0.1',
    '8.8.8.8',
    '::ffff:192.0.2.1',
    '2001:db9::1',
    '2606:4700::1111',
    'example.com',
    '',
  ])('refuses %s', (host) => {
    expect(mayReach(host)).toBe(false);
  });
});

describe('where a call goes', () => {
  it.each([
    [[{ host: OUTSIDE, port: 80 }], OUTSIDE],
    [[[{ host: OUTSIDE, port: 80 }, () => {}]], OUTSIDE],
    [[80, OUTSIDE], OUTSIDE],
    [['80', OUTSIDE, () => {}], OUTSIDE],
    [[80], 'localhost'],
    [[{ port: 80 }], 'localhost'],
    [[{ path: '/run/x.sock' }], undefined],
    [['/run/x.sock'], undefined],
  ])('net connect %j goes to %s', (args, host) => {
    expect(netConnectHost(args)).toBe(host);
  });

  it.each([
    [['hi', 53, OUTSIDE], OUTSIDE],
    [['hi', 0, 2, 53, OUTSIDE, () => {}], OUTSIDE],
    [[Buffer.from('hi'), 53], undefined],
    [['hi', () => {}], undefined],
  ])('datagram %j goes to %s', (args, host) => {
    expect(datagramHost(args)).toBe(host);
  });
});

describe('the guard, as installed for every test file', () => {
  let server: net.Server;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    dir = await mkdtemp(join(tmpdir(), 'dialback-guard-'));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['net.connect(options)', () => net.connect({ host: OUTSIDE, port: 80 })],
    ['net.connect(port, host)', () => net.connect(80, OUTSIDE)],
    ['net.createConnection(port, host)', () => net.createConnection(80, OUTSIDE)],
    ['socket.connect(options)', () => new net.Socket().connect({ host: OUTSIDE, port: 80 })],
    ['socket.connect(port, host)', () => new net.Socket().connect(80, OUTSIDE)],
    ['tls.connect(options)', () => tls.connect({ host: OUTSIDE, port: 443 })],
    ['a host name', () => net.connect(80, 'example.com')],
  ])('refuses %s', (_label, call) => {
    expect(call).toThrow(OutsideTraffic);
  });

  it('refuses fetch through its agent', async () => {
    const failure = await fetch(`http://${OUTSIDE}/`).catch((error: unknown) => error);
    expect((failure as Error).cause).toBeInstanceOf(OutsideTraffic);
  });

  it('refuses a datagram to an address, and a UDP connect', () => {
    const socket = dgram.createSocket('udp4');
    try {
      expect(() => socket.send('x', 53, OUTSIDE)).toThrow(OutsideTraffic);
      expect(() => socket.send('x', 0, 1, 53, OUTSIDE)).toThrow(OutsideTraffic);
      expect(() => socket.connect(53, OUTSIDE)).toThrow(OutsideTraffic);
    } finally {
      socket.close();
    }
  });

  it('refuses DNS lookups of names and queries to resolvers outside', async () => {
    await expect(lookup('example.com')).rejects.toBeInstanceOf(OutsideTraffic);
    expect(() => dns.lookup('example.com', () => {})).toThrow(OutsideTraffic);
    // A literal is answered without a query, whatever it is: binding to :: looks it up.
    await expect(lookup('::')).resolves.toMatchObject({ address: '::' });
    await expect(lookup(OUTSIDE)).resolves.toMatchObject({ address: OUTSIDE });
    const outside = new Resolver();
    outside.setServers([OUTSIDE]);
    await expect(outside.reverse('192.0.2.9')).rejects.toBeInstanceOf(OutsideTraffic);
    // A loopback server on port 53 is the machine's own stub resolver, which forwards outside.
    outside.setServers(['127.0.0.53']);
    await expect(outside.resolve4('example.com')).rejects.toBeInstanceOf(OutsideTraffic);
    const callback = new dns.Resolver();
    callback.setServers([OUTSIDE]);
    expect(() => callback.reverse('192.0.2.9', () => {})).toThrow(OutsideTraffic);
  });

  it('lets loopback, a connected datagram socket and a unix socket through', async () => {
    const tcp = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => tcp.once('connect', resolve).once('error', reject));
    tcp.destroy();

    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.connect(9, '127.0.0.1', resolve));
    expect(() => udp.send('x')).not.toThrow();
    udp.close();

    const path = join(dir, 'guard.sock');
    const unix = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => unix.listen(path, resolve));
    const client = net.connect(path);
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    client.destroy();
    await new Promise((resolve) => unix.close(resolve));
  });

  it('notes what it refused and comes off again', () => {
    const refused: string[] = [];
    const unguard = guardOutboundConnections(refused);
    expect(() => net.connect(80, '203.0.113.5')).toThrow(OutsideTraffic);
    unguard();
    expect(refused).toEqual(['203.0.113.5']);
  });
});
