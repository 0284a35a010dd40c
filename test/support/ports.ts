/**
 * Loopback ports for tests: one with a listener (reads open) and one that was just released
 * (reads closed, since nothing listens on it).
 */
import net from 'node:net';

/** A listener that accepts and drops connections. */
export interface Listening {
  readonly port: number;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** Listens on an ephemeral port on `host` (loopback by default). */
export async function listening(host = '127.0.0.1'): Promise<Listening> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port that was bound and released, so nothing listens on it. */
export async function releasedPort(host = '127.0.0.1'): Promise<number> {
  const l = await listening(host);
  await l.close();
  return l.port;
}

/** `count` distinct released loopback ports: all are bound at once while picked, so none repeats. */
export async function releasedPorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held = await Promise.all(Array.from({ length: count }, () => listening(host)));
  await Promise.all(held.map((l) => l.close()));
  return held.map((l) => l.port);
}
