/**
 * A child process that checks one closed loopback port with the service's TCP probe while a
 * fault takes its first dial's descriptor: the descriptor is closed under the runtime right after
 * connect(), and another socket opened at once gets the same number (the lowest free), so the
 * runtime's watch on that number now reports the other socket's readiness as the dial's.
 *
 * Usage: node --import tsx test/support/takeover-child.ts PORT MODE, where MODE is the socket that
 * takes the descriptor: `tcp` (a connection to a listener here: a peer, but not the target),
 * `unix` (a Unix socket connection: no IP peer at all) or `none` (no fault, the control).
 * Prints one JSON line `{ results, unproven, listener }`. Its own process, because after the fault
 * the runtime holds handles whose descriptor numbers another handle owns: a close of one may
 * close the other's, which the test runner must never meet.
 */
import { closeSync } from 'node:fs';
import net from 'node:net';
import { descriptorOf } from './lab/kernel-socket.ts';
import { probeRemembering, type UnprovenDial } from './lab/remembering-probe.ts';

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'none';

async function listen(server: net.Server, where: number | string): Promise<net.Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, resolve);
    else server.listen(where, '127.0.0.1', resolve);
  });
  return server;
}

// Accepted connections are kept open, so the socket that takes the descriptor stays connected.
const kept: net.Socket[] = [];
const server = await listen(
  net.createServer((s) => kept.push(s)),
  // An abstract name (leading NUL): no file to leave behind when this process exits unclosed.
  mode === 'unix' ? `\0dialback-takeover-${process.pid}` : 0,
);
const serverAddress = server.address();

/** The fault, on the first dial only, one tick after its connect() (after its birth is remembered). */
let faulted = mode === 'none';
const takeOver = (socket: net.Socket): void => {
  if (faulted) return;
  faulted = true;
  socket.once('connectionAttempt', () =>
    process.nextTick(() =>
      process.nextTick(() => {
        const fd = descriptorOf(socket);
        if (fd === undefined) throw new Error('the dial has no descriptor to take');
        closeSync(fd);
        // Both connect() forms open their socket before the runtime next polls: no name lookup.
        const other =
          typeof serverAddress === 'string'
            ? net.connect(serverAddress)
            : net.connect({ host: '127.0.0.1', port: (serverAddress as net.AddressInfo).port });
        other.on('error', () => undefined);
      }),
    ),
  );
};

const unproven: UnprovenDial[] = [];
const results = await probeRemembering(
  { address: '127.0.0.1', family: 4 },
  [port],
  { timeoutMs: 2000, attempts: 3, attemptSpacingMs: 250 },
  unproven,
  takeOver,
);
process.stdout.write(`${JSON.stringify({ results, unproven, listener: serverAddress })}\n`);
// Not server.close(): handles here may share descriptor numbers (see above); exit ends them all.
process.exit(0);
