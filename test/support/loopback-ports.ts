/**
 * Loopback ports with a known state for tests and benchmarks that check real ports: one that
 * accepts (and drops at once, like a service that answers the handshake), and one that was
 * bound and released so it refuses.
 */
import net from 'node:net';

/** An open loopback port; `close()` stops it. */
export interface OpenPort {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

/** Listens on an ephemeral 127.0.0.1 port and closes every accepted connection. */
export async function openPort(): Promise<OpenPort> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Ports on 127.0.0.1 that were bound and released, so nothing listens on them now. */
export async function releasedPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
