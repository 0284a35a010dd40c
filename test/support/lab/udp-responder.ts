/**
 * Child script for the lab's client namespace: UDP services on both families (one `::` socket
 * per port, which also takes IPv4). `echo` ports answer every datagram, `silent` ports read and
 * never answer (a WireGuard-like service), `dns` ports answer only a well-formed DNS query
 * (REFUSED, with the query's id), so the probe's DNS payload is what makes them read open.
 * Prints `udp ready` once bound.
 * Usage: node --import tsx test/support/lab/udp-responder.ts '{"echo":[20101],"silent":[20102],"dns":[53]}'
 */
import dgram from 'node:dgram';
import { pathToFileURL } from 'node:url';

/** What the parent passes as the only argument. */
export interface UdpResponderJob {
  readonly echo?: readonly number[];
  readonly silent?: readonly number[];
  readonly dns?: readonly number[];
}

/** A DNS answer to `query`: same id and question, QR set, RCODE 5 (REFUSED); `undefined` when it is no query. */
export function dnsRefusal(query: Buffer): Buffer | undefined {
  if (query.length < 17) return undefined;
  const flags = query.readUInt16BE(2);
  const isQuery = (flags & 0x8000) === 0 && ((flags >> 11) & 0x0f) === 0;
  if (!isQuery || query.readUInt16BE(4) !== 1) return undefined;
  const answer = Buffer.from(query);
  answer.writeUInt16BE(0x8005 | (flags & 0x0100), 2);
  return answer;
}

async function bind(port: number, answer: (message: Buffer) => Buffer | undefined): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (message, peer) => {
    const reply = answer(message);
    if (reply !== undefined) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '::', () => resolve());
  });
  return socket;
}

// Run as a script only (the lab imports dnsRefusal for its own checks), bundled or not.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const job = JSON.parse(process.argv[2] ?? '{}') as UdpResponderJob;
  const sockets = await Promise.all([
    ...(job.echo ?? []).map((port) => bind(port, () => Buffer.from('ok'))),
    ...(job.silent ?? []).map((port) => bind(port, () => undefined)),
    ...(job.dns ?? []).map((port) => bind(port, dnsRefusal)),
  ]);
  process.stdout.write('udp ready\n');
  process.once('SIGTERM', () => {
    for (const socket of sockets) socket.close();
    process.exit(0);
  });
}
