/**
 * Loopback ports for tests: one with a listener (reads open) and ones that were just released
 * (read closed, since nothing listens on them).
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** A listener that accepts and drops connections. */
export interface Listening {
  readonly port: number;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** Listens on `port` (default: an ephemeral one) on `host` (loopback by default). */
export async function listening(host = '127.0.0.1', port = 0): Promise<Listening> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Where released ports are drawn from: from here up to the kernel's ephemeral range. */
const RELEASED_FIRST = 10_000;

/** The first port of the kernel's ephemeral range, where bind(0) and connect() take theirs. */
function ephemeralFirst(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

/** Binds a UDP socket on `host`:`port` once and closes it; rejects when the port is taken. */
async function boundOnce(host: string, port: number): Promise<void> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => resolve());
    });
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // never bound: nothing to close
      }
    });
  }
}

/**
 * `count` distinct loopback ports that nothing listened on a moment ago (TCP by default, or
 * UDP). They lie below the kernel's ephemeral range, so no bind(0) of this process or of
 * another test file can take one while a test counts on it reading closed. Released ephemeral
 * ports could be taken: beside a busy suite another file's server got one mid-run, and 805 of
 * the leak test's 1,000 checks read it open.
 */
export async function releasedPorts(
  count: number,
  host = '127.0.0.1',
  protocol: 'tcp' | 'udp' = 'tcp',
): Promise<number[]> {
  const span = Math.max(1, ephemeralFirst() - RELEASED_FIRST);
  const picked = new Set<number>();
  for (let draws = 0; picked.size < count; draws++) {
    if (draws >= 200) throw new Error(`found only ${picked.size} of ${count} free ${protocol} ports on ${host}`);
    const port = RELEASED_FIRST + randomInt(span);
    if (picked.has(port)) continue;
    try {
      if (protocol === 'udp') await boundOnce(host, port);
      else await (await listening(host, port)).close();
      picked.add(port);
    } catch {
      // Something holds it: draw another.
    }
  }
  return [...picked];
}

/** One released loopback port (see `releasedPorts`). */
export async function releasedPort(host = '127.0.0.1', protocol: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  const [port] = await releasedPorts(1, host, protocol);
  return port as number;
}
