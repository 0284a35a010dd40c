/**
 * Child script for the lab's client namespace: listens on the given TCP ports on every address
 * of both families, accepts and closes each connection, and prints `listening` once ready.
 * Usage: node --import tsx test/support/lab/listener.ts 20001 20010
 */
import net from 'node:net';

/** A large backlog, so hundreds of concurrent probes never meet a full accept queue. */
const BACKLOG = 4096;

const ports = process.argv.slice(2).map(Number);
const servers = await Promise.all(
  ports.map(
    (port) =>
      new Promise<net.Server>((resolve, reject) => {
        const server = net.createServer((socket) => {
          socket.on('error', () => undefined);
          socket.destroy();
        });
        server.once('error', reject);
        // `::` without ipv6Only also accepts IPv4 (as mapped addresses): one socket per port.
        server.listen({ port, host: '::', backlog: BACKLOG }, () => resolve(server));
      }),
  ),
);
process.stdout.write(`listening on ${ports.join(',')}\n`);
process.once('SIGTERM', () => {
  for (const server of servers) server.close();
  process.exit(0);
});
