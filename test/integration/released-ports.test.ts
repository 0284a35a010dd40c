/**
 * The released ports tests count on reading closed (support/ports.ts): distinct, closed, and
 * outside the kernel's ephemeral range, where no other process's bind(0) can take them.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { releasedPorts } from '../support/ports.ts';

const [ephemeralFirst] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

/** The error code a connect() to `port` on loopback ends with, or 'connected'. */
function dial(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'unknown'));
  });
}

/** The error a connected UDP socket meets after one datagram to `port` on loopback, or 'silence'. */
function udpAnswer(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const done = (outcome: string): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      socket.close();
      resolve(outcome);
    };
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? 'unknown'));
    socket.connect(port, '127.0.0.1', () => {
      socket.send(Buffer.from('x'));
      // The refusal is reported on the next operation after the ICMP error arrives; loopback's
      // comes within milliseconds, and the bound is for a port something holds.
      timers.push(setTimeout(() => socket.send(Buffer.from('x')), 50));
      timers.push(setTimeout(() => done('silence'), 2000));
    });
  });
}

describe('released ports', () => {
  it('are distinct, below the ephemeral range, and refuse connections', async () => {
    const ports = await releasedPorts(9);
    expect(new Set(ports).size).toBe(9);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralFirst ?? 32_768);
    }
    expect(await Promise.all(ports.map(dial))).toEqual(Array(9).fill('ECONNREFUSED'));
  });

  it('come the same way for UDP: distinct, below the ephemeral range, answered port-unreachable', async () => {
    const ports = await releasedPorts(3, '127.0.0.1', 'udp');
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralFirst ?? 32_768);
    }
    expect(await Promise.all(ports.map(udpAnswer))).toEqual(Array(3).fill('ECONNREFUSED'));
  });
});
